"""Training: a synchronous loop, a background run and a run folder, three things.

* ``loop.TrainingLoop``: set up once, then D step, G step, log, sample, save (reads like nanoGPT's train.py);
* ``runner.Trainer``: the loop in a thread, with pause / resume / stop, events and the progress snapshot;
* ``rundir.RunDir``: the run folder's layout, metrics.csv, grids, timelapse, checkpoints and their retention.

``setup`` (device, data, networks), ``state`` (capture / restore a training state), ``rollback`` (the NaN policy)
and ``progress`` (what the run shows the outside) are the loop's parts.

The names load lazily (``lazy_loader``, scientific Python's SPEC 1): the Studio lists run folders through ``RunDir``
before torch is imported, and the loop and its torch load on first use.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["loop", "progress", "recipe", "rollback", "rundir", "runner", "setup", "state"],
    submod_attrs={
        "loop": ["NonFiniteLosses", "TrainingFailed", "TrainingLoop", "format_log_line"],
        "progress": ["Controls", "Progress", "TrainEvent"],
        "rundir": [
            "CHECKPOINT_DIR",
            "SAMPLES_DIR",
            "TIMELAPSE_NAME",
            "RunDir",
            "latest_checkpoint",
            "prune_checkpoints",
        ],
        "runner": ["Trainer"],
        "setup": ["resolve_device"],
    },
)

"""Training: a synchronous loop, a background run and a run folder, three things.

* ``loop.TrainingLoop``: set up once, then D step, G step, log, sample, save (reads like nanoGPT's train.py);
* ``runner.Trainer``: the loop in a thread, with pause / resume / stop, events and the progress snapshot;
* ``rundir.RunDir``: the run folder's layout, metrics.csv, grids, timelapse, checkpoints and their retention.

``setup`` (device, data, networks), ``state`` (capture / restore a training state), ``rollback`` (the NaN policy)
and ``progress`` (what the run shows the outside) are the loop's parts.
"""

from .loop import NonFiniteLosses, TrainingFailed, TrainingLoop, format_log_line
from .progress import Controls, Progress, TrainEvent
from .rundir import CHECKPOINT_DIR, SAMPLES_DIR, TIMELAPSE_NAME, RunDir, latest_checkpoint, prune_checkpoints
from .runner import Trainer
from .setup import resolve_device

__all__ = [
    "CHECKPOINT_DIR",
    "SAMPLES_DIR",
    "TIMELAPSE_NAME",
    "Controls",
    "NonFiniteLosses",
    "Progress",
    "RunDir",
    "TrainEvent",
    "Trainer",
    "TrainingFailed",
    "TrainingLoop",
    "format_log_line",
    "latest_checkpoint",
    "prune_checkpoints",
    "resolve_device",
]

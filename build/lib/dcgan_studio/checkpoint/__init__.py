"""safetensors checkpoints of DCGAN Studio, in layers:

* ``io.py``: safetensors files whatever they hold (atomic writes, header-first validation with size caps);
* ``info.py``: what a DCGAN Studio file says about itself, from its header alone (``read_info``, no torch);
* ``schema.py`` (with ``validate.py``): what a DCGAN Studio file holds, how it is written and loaded;
* ``pth.py``: the import of pytorch/examples ``.pth`` generators.

Import from here: ``from dcgan_studio.checkpoint import load_generator``. To look at a file, parse its header once
with ``read_info(path)`` and hand the ``CheckpointInfo`` to the loaders (``load_networks`` loads G and D together).

The names load lazily (``lazy_loader``, scientific Python's SPEC 1): ``read_info`` imports ``io`` and ``info`` only,
so the Studio lists checkpoints and builds its page before torch is imported.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["info", "io", "pth", "schema", "validate"],
    submod_attrs={
        "io": [
            "MAX_HEADER_BYTES",
            "CheckpointError",
            "Spec",
            "atomic_write_bytes",
            "load_tensors",
            "read_file",
            "read_header",
            "remove_stale_temporaries",
            "save_tensors",
        ],
        "info": [
            "FORMAT_GENERATOR",
            "FORMAT_MODELS",
            "FORMAT_TRAIN",
            "FORMAT_VERSION",
            "CheckpointInfo",
            "read_info",
            "read_metadata",
            "verify_file",
        ],
        "schema": [
            "Networks",
            "TrainingState",
            "load_discriminator",
            "load_generator",
            "load_networks",
            "load_training_state",
            "save_generator",
            "save_models",
            "save_training_state",
        ],
        "pth": ["import_pth"],
    },
)

"""safetensors checkpoints of DCGAN Studio, in three layers:

* ``io.py``: safetensors files whatever they hold (atomic writes, header-first validation with size caps);
* ``schema.py`` (with ``validate.py``): what a DCGAN Studio file holds, how it is written, inspected and loaded;
* ``pth.py``: the import of pytorch/examples ``.pth`` generators.

Import from here: ``from dcgan_studio.checkpoint import load_generator``. To look at a file, parse its header once
with ``read_info(path)`` and hand the ``CheckpointInfo`` to the loaders (``load_networks`` loads G and D together).
"""

from . import io, schema, validate
from .io import (
    MAX_HEADER_BYTES,
    CheckpointError,
    Spec,
    atomic_write_bytes,
    load_tensors,
    read_file,
    read_header,
    remove_stale_temporaries,
    save_tensors,
)
from .pth import import_pth
from .schema import (
    FORMAT_GENERATOR,
    FORMAT_MODELS,
    FORMAT_TRAIN,
    FORMAT_VERSION,
    CheckpointInfo,
    Networks,
    TrainingState,
    load_discriminator,
    load_generator,
    load_networks,
    load_training_state,
    read_info,
    read_metadata,
    save_generator,
    save_models,
    save_training_state,
    verify_file,
)

__all__ = [
    "FORMAT_GENERATOR",
    "FORMAT_MODELS",
    "FORMAT_TRAIN",
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "CheckpointError",
    "CheckpointInfo",
    "Networks",
    "Spec",
    "TrainingState",
    "atomic_write_bytes",
    "import_pth",
    "io",
    "load_discriminator",
    "load_generator",
    "load_networks",
    "load_tensors",
    "load_training_state",
    "read_file",
    "read_header",
    "read_info",
    "read_metadata",
    "remove_stale_temporaries",
    "save_generator",
    "save_models",
    "save_tensors",
    "save_training_state",
    "schema",
    "validate",
    "verify_file",
]

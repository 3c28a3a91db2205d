"""Old import path of the Studio's server-side state, kept so callers of ``dcgan_studio.app.state`` keep working.
Each concept has its own module now: ``visitors`` (ids, sessions, path safety), ``samples``, ``model_store``,
``jobs``, and ``errors`` (``StudioError``)."""

from .errors import StudioError
from .jobs import Job, JobRegistry, unique_run_dir
from .model_store import LoadedModels, ModelStore
from .samples import SAMPLE_ID_RE, Sample, SampleRegistry
from .visitors import (
    LOCAL,
    VISITOR_ID_RE,
    SessionMap,
    current_visitor,
    in_folder,
    new_visitor_id,
    safe_folder,
    visiting,
    visitor_key,
)

__all__ = [
    "LOCAL",
    "SAMPLE_ID_RE",
    "VISITOR_ID_RE",
    "Job",
    "JobRegistry",
    "LoadedModels",
    "ModelStore",
    "Sample",
    "SampleRegistry",
    "SessionMap",
    "StudioError",
    "current_visitor",
    "in_folder",
    "new_visitor_id",
    "safe_folder",
    "unique_run_dir",
    "visiting",
    "visitor_key",
]

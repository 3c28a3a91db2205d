"""The errors a visitor sees: ``StudioError`` for requests the Studio refuses, ``USER_ERRORS`` for every error whose
message is meant for the user (the core's typed errors included), and ``user_errors`` to show them as a toast."""

from __future__ import annotations

import functools
from collections.abc import Callable

import gradio as gr

from ..checkpoint import CheckpointError
from ..config import ConfigError
from ..data import DatasetError


class StudioError(ValueError):
    """A request the Studio refuses; the message is shown to the user as it is."""


# ValueError covers the core's range checks and ZipDatasetError; OverflowError a number too large to convert
USER_ERRORS = (StudioError, CheckpointError, ConfigError, DatasetError, ValueError, FileNotFoundError, OverflowError)


def user_errors(fn: Callable) -> Callable:
    """Turn the core's user errors into a ``gr.Error`` (a toast in the page, an AppError for API clients)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except USER_ERRORS as exc:
            raise gr.Error(str(exc)) from None

    return wrapper

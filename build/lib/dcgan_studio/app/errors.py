"""The errors a visitor sees: ``StudioError`` for requests the Studio refuses, ``USER_ERRORS`` for every error whose
message is meant for the user (the core's typed errors included), and ``user_errors`` to show them as a toast."""

from __future__ import annotations

import functools
from collections.abc import Callable

import gradio as gr

from ..errors import USER_ERRORS, UserError


class StudioError(UserError):
    """A request the Studio refuses; the message is shown to the user as it is."""


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

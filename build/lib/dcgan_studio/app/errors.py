"""The errors a visitor sees: ``StudioError`` for requests the Studio refuses, ``USER_ERRORS`` for every error whose
message is meant for the user (the core's typed errors included), shown as a toast; anything else is a bug, logged
with its traceback under a short reference the toast names (``internal_error``)."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable

import gradio as gr

from ..errors import USER_ERRORS, UserError

logger = logging.getLogger(__name__)

INTERNAL = "internal error (ref {ref}): please report it"


class StudioError(UserError):
    """A request the Studio refuses; the message is shown to the user as it is."""


def internal_error(where: str) -> gr.Error:
    """Log the exception being handled (traceback included) under a fresh reference, and the short ``gr.Error`` that
    names it: the visitor sees no internals, the log can be searched for the reference."""
    ref = secrets.token_hex(3)
    logger.error("internal error (ref %s) in %s", ref, where, exc_info=True)
    return gr.Error(INTERNAL.format(ref=ref))


def user_errors(fn: Callable) -> Callable:
    """Turn the core's user errors into a ``gr.Error`` (a toast in the page, an AppError for API clients), and any
    other exception into ``internal_error``'s short message (the traceback goes to the log)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except USER_ERRORS as exc:
            raise gr.Error(str(exc)) from None
        except Exception:  # noqa: BLE001 - a bug: logged with its traceback, named by a reference
            raise internal_error(getattr(fn, "__qualname__", repr(fn))) from None

    return wrapper

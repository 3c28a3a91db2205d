"""Who is asking, and which folders they may name.

In local mode every request is the one visitor ``LOCAL`` (one shared job, re-attached on reload). In public-demo
mode each visitor has an id (a random token kept in the browser's BrowserState, or the gradio_client session for API
callers); a handler runs ``with visiting(id)`` (``Studio.handler`` does it) and the job registry, the checkpoint list
and the run folders are then that visitor's own. Ids are bearer secrets: folders are named after a hash of them.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from pathlib import Path

from .errors import StudioError
from .settings import Limits, check_text

LOCAL = "local"  # the one visitor of a local Studio
VISITOR_ID_RE = re.compile(r"[0-9a-f]{32}")
_VISITOR: contextvars.ContextVar[str] = contextvars.ContextVar("dcgan_studio_visitor", default=LOCAL)
# the network address behind the request: a visitor id is chosen by the client, an address is not (per-address limits)
_CLIENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("dcgan_studio_client", default=None)


def current_visitor() -> str:
    return _VISITOR.get()


def current_client() -> str | None:
    return _CLIENT.get()


@contextlib.contextmanager
def visiting(visitor: str | None, client: str | None = None):
    """Run the enclosed code on behalf of ``visitor`` from address ``client`` (the job, checkpoints and run folders
    it sees; the address counts the jobs one machine holds)."""
    token, client_token = _VISITOR.set(visitor or LOCAL), _CLIENT.set(client)
    try:
        yield
    finally:
        _CLIENT.reset(client_token)
        _VISITOR.reset(token)


def client_address(request, trust_forwarded: bool = False) -> str | None:
    """The address a request came from: the socket's peer, or behind a proxy that says who it forwards (a Hugging
    Face Space: ``trust_forwarded``) the first address of X-Forwarded-For. A client can put a false first entry in
    that header, so the per-address limit is a bound on honest API clients and on browsers, not a wall; the global
    job cap still holds whatever it sends."""
    if request is None:
        return None
    headers = getattr(request, "headers", None) or {}
    forwarded = headers.get("x-forwarded-for", "") if trust_forwarded else ""
    first = forwarded.split(",")[0].strip()[:64]
    if first:
        return first
    host = getattr(getattr(request, "client", None), "host", None)
    return str(host)[:64] if host else None


def visitor_key(visitor: str) -> str:
    """A folder-safe name for a visitor that does not reveal the id itself (ids are bearer secrets)."""
    return LOCAL if visitor == LOCAL else hashlib.sha256(visitor.encode()).hexdigest()[:20]


def new_visitor_id() -> str:
    return secrets.token_hex(16)


class SessionMap:
    """Public mode: which visitor a Gradio session belongs to (a page reload is a new session, same visitor)."""

    def __init__(self, max_items: int = Limits.max_visitors):
        self._map: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.max_items = max_items

    def bind(self, session_hash: str, visitor: str) -> None:
        with self._lock:
            self._map[session_hash] = visitor
            self._map.move_to_end(session_hash)
            while len(self._map) > self.max_items:
                self._map.popitem(last=False)

    def get(self, session_hash: str | None) -> str | None:
        with self._lock:
            return self._map.get(session_hash) if session_hash else None


# ---------------------------------------------------------------------------------------------------- paths


def in_folder(path: Path, root: Path) -> bool:
    """Whether ``path`` resolves (symlinks followed) to ``root`` or something inside it."""
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def safe_folder(text, roots: list[Path]) -> Path:
    """A folder path a user typed, only if it resolves inside one of ``roots``: no ``..``, no NUL, no absolute
    path elsewhere, symlinks resolved. Relative paths are taken relative to the first root."""
    text = check_text("folder", text).strip()
    if not text:
        raise StudioError("type a folder path")
    if "\x00" in text or ".." in Path(text).parts:
        raise StudioError(f"{text[:200]!r}: '..' and control characters are not allowed in a folder path")
    if not roots:
        raise StudioError("folder paths are disabled on this server")
    path = Path(text).expanduser() if text.startswith("~") else Path(text)
    if not path.is_absolute():
        path = roots[0] / path
    for root in roots:
        if in_folder(path, root):
            resolved = path.resolve()
            if not resolved.is_dir():
                raise StudioError(f"{text[:200]!r} is not a folder on the server")
            return resolved
    allowed = ", ".join(str(r) for r in roots)
    raise StudioError(f"{text[:200]!r} is outside the folders datasets may come from ({allowed})")

"""Repo ids (``user/name[@revision]``) told from paths, and huggingface_hub's exceptions as one-line ``HubError``s.

A revision must be a branch, tag or commit id by git's ref-name rules (``git check-ref-format``): huggingface_hub
keeps it as a path in its cache (``refs/<revision>``), so ``..`` and friends must never reach it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

from huggingface_hub import constants
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ..checkpoint import CheckpointError
from ..errors import UserError
from .names import DISCRIMINATOR_FILE

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_FILE_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt", ".json", ".zip")
MAX_REVISION_CHARS = 128  # git sets no bound; a Hub branch, tag or commit id is far shorter
_COMMIT_ID = re.compile(r"[0-9a-f]{7,40}")
_REF_FORBIDDEN = frozenset(" ~^:?*[\\")  # besides control characters (git's check-ref-format, rule 4, 5 and 10)


class HubError(UserError):
    """A Hub model cannot be used; the one-line message says which and what to do."""


# ------------------------------------------------------------------------------------------------- repo ids


def revision_problem(revision: str) -> str | None:
    """Why ``revision`` is not a branch, tag or commit id by git's ref-name rules, or None when it is one."""
    if not revision:
        return "it is empty"
    if len(revision) > MAX_REVISION_CHARS:
        return f"it is longer than {MAX_REVISION_CHARS} characters"
    if _COMMIT_ID.fullmatch(revision):
        return None  # a commit id (7 to 40 hex digits)
    if revision == "@":
        return "it is '@'"
    bad = sorted({c for c in revision if c in _REF_FORBIDDEN or not c.isprintable()})
    if bad:
        return f"it contains {', '.join(repr(c) for c in bad)}"
    for text in ("..", "@{", "//"):
        if text in revision:
            return f"it contains {text!r}"
    if revision.startswith("/") or revision.endswith(("/", ".")):
        return "it starts with '/' or ends with '/' or '.'"
    for part in revision.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return f"its part {part[:40]!r} starts with '.' or ends with '.lock'"
    return None


def check_revision(revision: str) -> str:
    """``revision`` when git's ref rules allow it, else a ``HubError`` that says which rule it breaks."""
    problem = revision_problem(str(revision))
    if problem is not None:
        raise HubError(
            f"revision {str(revision)[:60]!r} is not a branch, tag or commit id ({problem}): use one of the repo's "
            "branches, tags or commit ids, or leave out '@...' for main"
        )
    return revision


def _is_repo_name(repo_id: str) -> bool:
    return (
        bool(_REPO_ID.match(repo_id))
        and ".." not in repo_id
        and "--" not in repo_id
        and not repo_id.lower().endswith(_FILE_SUFFIXES)
    )


def parse_repo_id(spec: str) -> tuple[str, str | None] | None:
    """``(repo_id, revision)`` when ``spec`` is written as a Hub repo id (``user/name``, or ``user/name@revision``
    with a revision git's ref rules allow), else None. From the text alone: the filesystem is never looked at, so
    the answer is the same whether a file of that name exists or not (the Studio's public mode relies on it)."""
    repo_id, at, revision = str(spec).strip().partition("@")
    if not _is_repo_name(repo_id) or (at and revision_problem(revision) is not None):
        return None
    return repo_id, (revision if at else None)


def check_repo_id(spec: str) -> tuple[str, str | None]:
    """``parse_repo_id`` that says what is wrong: ``(repo_id, revision)``, or a ``HubError`` naming the rule the text
    breaks. From the text alone, like ``parse_repo_id``."""
    spec = str(spec).strip()
    repo_id, at, revision = spec.partition("@")
    if not _is_repo_name(repo_id):
        raise HubError(f"{spec[:100]!r} is not a Hub repo id: type user/name or user/name@revision")
    if at and not revision:
        raise HubError(
            f"{spec[:100]!r} ends with '@': type user/name@revision (a branch, tag or commit id), or leave out '@'"
        )
    return repo_id, (check_revision(revision) if at else None)


def split_revision(spec: str, revision: str | None = None, *, local: bool = True) -> tuple[str, str | None]:
    """``"user/name@rev"`` -> ``("user/name", "rev")``, the revision checked against git's ref rules; with ``local``
    an existing local path is returned whole."""
    spec = str(spec).strip()
    if "@" not in spec or (local and Path(spec).exists()):
        return spec, (None if revision is None else check_revision(revision))
    repo_id, _, rev = spec.partition("@")
    if not rev:
        raise HubError(
            f"{spec!r} ends with '@': write user/name@revision (a branch, tag or commit id), or leave out '@'"
        )
    if revision is not None and revision != rev:
        raise HubError(f"two revisions given for {repo_id!r} ({rev!r} and {revision!r}): give one")
    return repo_id, check_revision(rev)


def is_repo_id(spec: str, *, local: bool = True) -> bool:
    """Whether ``spec`` names a Hub repo (``user/name`` or ``user/name@revision``) rather than a local path: one
    slash, no file-name ending (``runs/x.safetensors``), a revision by git's ref rules, and with ``local`` not an
    existing path. ``local=False`` decides from the text alone (``parse_repo_id``), never looking at the disk."""
    spec = str(spec).strip()
    if not spec or (local and Path(spec).exists()):
        return False
    return parse_repo_id(spec) is not None


def repo_label(repo_id: str, revision: str | None) -> str:
    return f"{repo_id}@{revision}" if revision else repo_id


def _is_network_error(exc: BaseException) -> bool:
    """Connection refused, DNS, timeouts, offline mode: huggingface_hub raises its own types or its HTTP client's."""
    if isinstance(exc, (LocalEntryNotFoundError, OfflineModeIsEnabled, ConnectionError, TimeoutError)):
        return True
    return type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "requests", "urllib3")


def _offline_message(what: str) -> str:
    if constants.is_offline_mode():
        return (
            f"offline mode is on (HF_HUB_OFFLINE=1) and {what} is not in the local Hub cache: unset HF_HUB_OFFLINE "
            "to download it, or use a local .safetensors file"
        )
    return (
        f"cannot reach the Hub at {constants.ENDPOINT} to download {what}, and it is not in the local cache: check "
        "the network connection (or HF_ENDPOINT / a proxy) and try again, or use a local .safetensors file"
    )


@contextmanager
def hub_errors(repo_id: str, revision: str | None = None, *, local: bool = True) -> Iterator[None]:
    """Turn huggingface_hub's exceptions into one-line ``HubError``s that say what to do (``local=False``: never
    mention, so never look at, local files)."""
    what = repr(repo_label(repo_id, revision))
    try:
        yield
    except HubError:
        raise
    except CheckpointError as exc:
        raise HubError(f"Hub model {what}: {exc}") from None
    except GatedRepoError:
        raise HubError(
            f"Hub repo {repo_id!r} is gated: accept its conditions on its Hub page, then log in "
            "(`hf auth login` or HF_TOKEN)"
        ) from None
    except RepositoryNotFoundError:
        hint = "; there is no local file of that name either" if local and Path(repo_id).parent.is_dir() else ""
        raise HubError(
            f"Hub repo {repo_id!r} not found: check the name (user/name); for a private repo log in "
            f"(`hf auth login` or HF_TOKEN){hint}"
        ) from None
    except RevisionNotFoundError:
        raise HubError(
            f"revision {revision!r} does not exist in Hub repo {repo_id!r}: use one of its branches, tags "
            "or commit ids, or leave out '@...' for main"
        ) from None
    except RemoteEntryNotFoundError as exc:
        name = unquote(str(exc.response.url).rsplit("/", 1)[-1]) if getattr(exc, "response", None) is not None else "?"
        if name == DISCRIMINATOR_FILE:
            raise HubError(f"Hub repo {what} holds no discriminator ({name}): it is a generator-only model") from None
        raise HubError(
            f"Hub repo {what} is not a DCGAN Studio model: it has no {name}; use a repo written by "
            "`export --hub-dir` or push_to_hub"
        ) from None
    except HfHubHTTPError as exc:
        code = exc.response.status_code if getattr(exc, "response", None) is not None else "?"
        hint = "log in (`hf auth login` or HF_TOKEN) with access to it" if code in (401, 403) else "try again later"
        raise HubError(f"the Hub refused {what} (HTTP {code}): {hint}") from None
    except Exception as exc:
        if _is_network_error(exc):
            raise HubError(_offline_message(f"Hub repo {what}")) from None
        if type(exc).__name__ == "HFValidationError":
            raise HubError(f"{repo_id!r} is not a valid Hub repo id: write user/name or user/name@revision") from None
        raise

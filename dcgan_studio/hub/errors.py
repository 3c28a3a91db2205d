"""Repo ids (``user/name[@revision]``) told from paths, and huggingface_hub's exceptions as one-line ``HubError``s."""

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
from .names import DISCRIMINATOR_FILE

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_FILE_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt", ".json", ".zip")


class HubError(ValueError):
    """A Hub model cannot be used; the one-line message says which and what to do."""


# ------------------------------------------------------------------------------------------------- repo ids


def split_revision(spec: str, revision: str | None = None) -> tuple[str, str | None]:
    """``"user/name@rev"`` -> ``("user/name", "rev")``; an existing local path is returned whole."""
    spec = str(spec).strip()
    if "@" not in spec or Path(spec).exists():
        return spec, revision
    repo_id, _, rev = spec.partition("@")
    if not rev:
        raise HubError(
            f"{spec!r} ends with '@': write user/name@revision (a branch, tag or commit id), or leave out '@'"
        )
    if revision is not None and revision != rev:
        raise HubError(f"two revisions given for {repo_id!r} ({rev!r} and {revision!r}): give one")
    return repo_id, rev


def is_repo_id(spec: str) -> bool:
    """Whether ``spec`` names a Hub repo (``user/name`` or ``user/name@revision``) rather than a local path: it is
    not an existing path, has exactly one slash, and does not end like a file name (``runs/x.safetensors``)."""
    spec = str(spec).strip()
    if not spec or Path(spec).exists():
        return False
    repo_id = spec.partition("@")[0]
    return (
        bool(_REPO_ID.match(repo_id))
        and ".." not in repo_id
        and "--" not in repo_id
        and not repo_id.lower().endswith(_FILE_SUFFIXES)
    )


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
def hub_errors(repo_id: str, revision: str | None = None) -> Iterator[None]:
    """Turn huggingface_hub's exceptions into one-line ``HubError``s that say what to do."""
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
        local = "; there is no local file of that name either" if Path(repo_id).parent.is_dir() else ""
        raise HubError(
            f"Hub repo {repo_id!r} not found: check the name (user/name); for a private repo log in "
            f"(`hf auth login` or HF_TOKEN){local}"
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

"""Reading a Hub model's files: config.json first, then each weight file with its size checked (HEAD) against the
architecture and the caller's cap before it is downloaded, through huggingface_hub's own cache.

The networks' classes come in as arguments (``wanted``): this module sits below ``models.py``, whose Hub methods use
it, so it never imports it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url, try_to_load_from_cache
from huggingface_hub.errors import RemoteEntryNotFoundError

from ..config import ConfigError, ModelConfig
from .errors import HubError, hub_errors, is_repo_id, repo_label, split_revision
from .names import (
    CONFIG_FILE,
    DISCRIMINATOR_FILE,
    GENERATOR_FILE,
    HEADER_ALLOWANCE,
    LIBRARY_NAME,
    MAX_CONFIG_BYTES,
)

# ------------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class HubFiles:
    """The files of one Hub model, local or in the Hub cache, with the architecture from its config.json."""

    source: str  # "user/name@<commit>" or the local folder
    config: ModelConfig
    generator: Path | None
    discriminator: Path | None
    commit: str | None  # the Hub commit they came from (None for a local folder)


def read_config(path: str | Path, where: str) -> ModelConfig:
    """The ``ModelConfig`` of a Hub folder's config.json, or a ``HubError`` when it is not one of ours."""
    path = Path(path)
    try:
        too_big = path.stat().st_size > MAX_CONFIG_BYTES
        data = None if too_big else json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise HubError(f"{where} is not a DCGAN Studio model: its config.json cannot be read ({exc})") from None
    if too_big:
        raise HubError(f"{where} is not a DCGAN Studio model: its config.json is over {MAX_CONFIG_BYTES // 1024} KB")
    if not isinstance(data, dict) or data.get("library_name") != LIBRARY_NAME:
        found = data.get("library_name") if isinstance(data, dict) else None
        whose = f"is for {found!r}" if isinstance(found, str) else f'lacks "library_name": "{LIBRARY_NAME}"'
        raise HubError(
            f"{where} is not a DCGAN Studio model (its config.json {whose}); use a repo written by "
            "`export --hub-dir` or push_to_hub"
        )
    fields = {k: data.get(k) for k in ("image_size", "channels", "nz", "ngf", "ndf")}
    if any(type(v) is not int for v in fields.values()):
        raise HubError(
            f"{where}: config.json must give image_size, channels, nz, ngf and ndf as whole numbers, got {fields}"
        )
    try:
        return ModelConfig(**fields)
    except ConfigError as exc:
        raise HubError(f"{where}: config.json describes an unsupported model ({exc})") from None


def weight_bytes(model_cls: type, config: ModelConfig) -> int:
    """Bytes of a network's tensors (its state dict) for ``config``, from a model built on the meta device."""
    with torch.device("meta"):
        model = model_cls(config)
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


@dataclass(frozen=True)
class _Cap:
    architecture: int  # the tensors' bytes for config.json's architecture, plus room for the header
    allowed: int | None  # the caller's cap (the Studio's upload limit)


def _cap(model_cls: type, config: ModelConfig, max_bytes: int | None) -> _Cap:
    return _Cap(weight_bytes(model_cls, config) + HEADER_ALLOWANCE, None if max_bytes is None else int(max_bytes))


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def _check_size(path: Path, size: int, cap: _Cap, where: str) -> None:
    if cap.allowed is not None and size > cap.allowed:
        raise HubError(
            f"{where}: {path.name} is {_mb(size)}, more than the {_mb(cap.allowed)} this app accepts; refused"
        )
    if size > cap.architecture:
        raise HubError(
            f"{where}: {path.name} is {_mb(size)}, more than the {_mb(cap.architecture)} the architecture in "
            "config.json needs: it is not that model's weights; refused"
        )


def _fetch_weight(repo_id: str, filename: str, commit: str, cap: _Cap, options: dict, required: bool) -> Path | None:
    """One weight file of a Hub repo at ``commit``: from the cache, or its size checked (HEAD) before downloading."""
    where = repo_label(repo_id, commit[:12])
    cached = try_to_load_from_cache(repo_id, filename, revision=commit, cache_dir=options.get("cache_dir"))
    if isinstance(cached, str) and not options.get("force_download"):
        path = Path(cached)
    elif cached is not None and not isinstance(cached, str) and not required:  # cached as absent from that commit
        return None
    elif options.get("local_files_only"):
        path = Path(hf_hub_download(repo_id, filename, revision=commit, **options))  # not cached: raises
    else:
        try:
            meta = get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=commit), token=options.get("token"))
        except RemoteEntryNotFoundError:
            if required:
                raise
            return None
        if meta.size is not None:
            _check_size(Path(filename), meta.size, cap, where)
        path = Path(hf_hub_download(repo_id, filename, revision=commit, **options))
    _check_size(path, path.stat().st_size, cap, where)
    return path


def fetch_files(
    repo_or_dir: str | Path,
    revision: str | None,
    wanted: Mapping[str, tuple[type, bool | None]],
    *,
    max_bytes: int | None = None,
    token: str | bool | None = None,
    cache_dir: str | Path | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
    local: bool = True,
) -> HubFiles:
    """The files of a Hub model (``user/name``, optionally at ``revision``) or of a ``save_pretrained`` folder
    (``local=False``: the Hub only, and the disk outside huggingface_hub's cache is never looked at).

    ``wanted`` maps each weight file (``GENERATOR_FILE``, ``DISCRIMINATOR_FILE``) to its network's class (whose
    architecture caps the file's size) and True = required, False = not fetched, None = fetched when the repo has it.
    Weight files larger than their architecture needs, or than ``max_bytes``, are refused before downloading.
    """
    target, revision = split_revision(str(repo_or_dir), revision, local=local)
    wanted = {name: wanted.get(name, (None, False)) for name in (GENERATOR_FILE, DISCRIMINATOR_FILE)}
    found: dict[str, Path | None] = dict.fromkeys(wanted)
    folder = Path(target)
    if local and folder.is_dir():
        if not (folder / CONFIG_FILE).is_file():
            raise HubError(
                f"{folder} is not a DCGAN Studio Hub folder (no config.json); write one with save_pretrained "
                "or `export --hub-dir`"
            )
        config = read_config(folder / CONFIG_FILE, str(folder))
        for name, (cls, want) in wanted.items():
            path = folder / name
            if want is True and not path.is_file():
                raise HubError(f"{folder} has no {name}: it holds no {cls.__name__.lower()}")
            if want is not False and path.is_file():
                _check_size(path, path.stat().st_size, _cap(cls, config, max_bytes), str(folder))
                found[name] = path
        return HubFiles(str(folder), config, found[GENERATOR_FILE], found[DISCRIMINATOR_FILE], None)
    if not is_repo_id(target, local=local):
        raise HubError(f"{target!r} is neither a folder nor a Hub repo id; write user/name or user/name@revision")
    repo_id = target
    options = dict(token=token, cache_dir=cache_dir, force_download=force_download, local_files_only=local_files_only)
    with hub_errors(repo_id, revision, local=local):
        config_path = Path(hf_hub_download(repo_id, CONFIG_FILE, revision=revision, **options))
        commit = config_path.parent.name  # snapshots/<commit>/config.json: the other files come from the same commit
        config = read_config(config_path, repr(repo_label(repo_id, revision)))
        for name, (cls, want) in wanted.items():
            if want is not False:
                found[name] = _fetch_weight(repo_id, name, commit, _cap(cls, config, max_bytes), options, want is True)
    return HubFiles(f"{repo_id}@{commit}", config, found[GENERATOR_FILE], found[DISCRIMINATOR_FILE], commit)

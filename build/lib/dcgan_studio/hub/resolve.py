"""Loading what ``fetch`` found: validated networks (``from_pretrained``), and ``resolve_checkpoint`` that turns a
repo id or a Hub folder into a checkpoint file every loader reads."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import cached_assets_path, constants
from safetensors.torch import save as st_save

from ..checkpoint import atomic_write_bytes, load_generator, read_file
from ..config import ConfigError, ModelConfig
from ..models import Discriminator, Generator, HubMixin
from .errors import HubError, check_repo_id, hub_errors, is_repo_id, parse_repo_id, split_revision
from .fetch import HubFiles, fetch
from .names import FORMAT_DISCRIMINATOR, FORMAT_MODELS, FORMAT_VERSION, LIBRARY_NAME


def _load_generator_file(path: Path, config: ModelConfig, where: str, device) -> Generator:
    model = load_generator(path, device=device)  # header first: format, config, names, dtypes, shapes, finiteness
    if model.config != config:
        raise HubError(f"{where}: config.json ({config}) and {path.name} ({model.config}) describe different models")
    return model


def _load_discriminator_file(path: Path, config: ModelConfig, where: str, device) -> Discriminator:
    """A discriminator file (format dcgan_studio.discriminator) checked like a checkpoint: its size is capped by the
    caller, ``read_file`` validates the header against the file before reading, then names, dtypes, shapes,
    finiteness and the config in its metadata must match."""
    metadata, tensors = read_file(path)
    if metadata.get("format") != FORMAT_DISCRIMINATOR or metadata.get("format_version") != FORMAT_VERSION:
        raise HubError(
            f"{where}: {path.name} is not a DCGAN Studio discriminator file (format {metadata.get('format')!r})"
        )
    try:
        meta_config = ModelConfig.from_json(metadata.get("model_config", ""))
    except (ConfigError, TypeError, ValueError) as exc:
        raise HubError(f"{where}: {path.name} has an invalid model_config ({exc})") from None
    if meta_config != config:
        raise HubError(f"{where}: config.json ({config}) and {path.name} ({meta_config}) describe different models")
    with torch.device("meta"):
        expected = {k: (v.dtype, tuple(v.shape)) for k, v in Discriminator(config).state_dict().items()}
    found = {k: (v.dtype, tuple(v.shape)) for k, v in tensors.items()}
    if found != expected:
        wrong = sorted(set(found) ^ set(expected)) or sorted(k for k in expected if found[k] != expected[k])
        raise HubError(f"{where}: {path.name} does not match the architecture in config.json ({wrong[:4]})")
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise HubError(f"{where}: {path.name} holds NaN/inf values in {bad[:4]}")
    model = Discriminator(config)
    model.load_state_dict(tensors)
    return model.to(device).eval()


def load_pretrained(
    cls: type,
    model_id: str,
    *,
    revision: str | None = None,
    cache_dir=None,
    force_download: bool = False,
    local_files_only: bool = False,
    token=None,
    map_location: str | torch.device = "cpu",
    config: Any = None,
    strict: bool = True,
    max_bytes: int | None = None,
):
    """``HubMixin._from_pretrained``: a validated ``cls`` (Generator or Discriminator, eval mode) from a Hub repo or
    a ``save_pretrained`` folder. ``config`` (what the mixin read from config.json) is checked again here, and
    loading is always strict."""
    is_d = issubclass(cls, Discriminator)
    with hub_errors(model_id, revision):
        files = fetch(
            model_id,
            revision,
            generator=not is_d,
            discriminator=True if is_d else False,
            max_bytes=max_bytes,
            token=token,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
        )
        if is_d:
            model = _load_discriminator_file(files.discriminator, files.config, files.source, map_location)
        else:
            model = _load_generator_file(files.generator, files.config, files.source, map_location)
    if type(model) is not cls:  # a subclass of ours: same state dict
        model, state = cls(files.config), model.state_dict()
        model.load_state_dict(state)
        model = model.to(map_location).eval()
    return model


def from_pretrained(cls: type, repo_id_or_dir: str | Path, *, revision: str | None = None, **kwargs):
    """``HubMixin.from_pretrained``: huggingface_hub's, with ``user/name@revision`` and one-line ``HubError``s."""
    target, revision = split_revision(str(repo_id_or_dir), revision)
    with hub_errors(target, revision):
        return super(HubMixin, cls).from_pretrained(target, revision=revision, **kwargs)


def _derived_models_file(files: HubFiles, repo_id: str | None) -> Path:
    """A local G + D "models" checkpoint of a Hub model (the format every loader reads), written once per commit
    in huggingface_hub's assets cache (``HF_ASSETS_CACHE``/dcgan-studio)."""
    if files.commit and repo_id:
        namespace, sub = repo_id.replace("/", "--"), files.commit
    else:
        digest = hashlib.sha256()
        for path in (files.generator, files.discriminator):
            digest.update(path.read_bytes())
        namespace, sub = "local", digest.hexdigest()[:20]
    folder = cached_assets_path(LIBRARY_NAME, namespace=namespace, subfolder=sub, assets_dir=constants.HF_ASSETS_CACHE)
    path = folder / "models.safetensors"
    if not path.is_file():
        g = _load_generator_file(files.generator, files.config, files.source, "cpu")
        d = _load_discriminator_file(files.discriminator, files.config, files.source, "cpu")
        tensors = {f"G.{k}": v for k, v in g.state_dict().items()} | {f"D.{k}": v for k, v in d.state_dict().items()}
        metadata = {
            "format": FORMAT_MODELS,
            "format_version": FORMAT_VERSION,
            "model_config": files.config.to_json(),
            "extra.hub_source": files.source,
        }
        atomic_write_bytes(path, st_save({k: v.contiguous() for k, v in tensors.items()}, metadata=metadata))
    return path


def resolve_checkpoint(
    spec: str | Path,
    *,
    max_bytes: int | None = None,
    token: str | bool | None = None,
    cache_dir: str | Path | None = None,
    local: bool = True,
) -> Path:
    """A checkpoint file for ``spec``, which may be a local file (returned as it is), a ``save_pretrained`` /
    ``export --hub-dir`` folder, or a Hub repo ``user/name`` / ``user/name@revision`` (downloaded with
    huggingface_hub, into its cache).

    A model with a generator only resolves to its ``model.safetensors`` (a generator file); one with a discriminator
    too resolves to a G + D "models" file built once in the assets cache, so ``load_discriminator`` works as for a
    shipped checkpoint. ``max_bytes`` caps each weight file (the Studio passes its upload cap). ``local=False``
    takes a Hub repo id only and never looks at local files (the Studio: a path must not be told from a repo by
    whether it exists). Raises ``HubError``.
    """
    text = str(spec).strip()
    if not local:
        path, repo_id = None, check_repo_id(text)[0]
    else:
        path = Path(text).expanduser()
        if path.is_file() or (not path.is_dir() and not is_repo_id(text)):
            if "@" in text and not path.exists() and parse_repo_id(text.partition("@")[0]) is not None:
                check_repo_id(text)  # user/name with a bad revision: say which rule it breaks
            return path  # a local file, or something the checkpoint loaders will explain (a missing file)
        path, repo_id = (path, None) if path.is_dir() else (None, split_revision(text)[0])
    source = path if path is not None else text
    files = fetch(source, max_bytes=max_bytes, token=token, cache_dir=cache_dir, local=local)
    with hub_errors(repo_id or str(path), None, local=local):
        if files.discriminator is None:  # the generator file itself, validated before it is handed out
            _load_generator_file(files.generator, files.config, files.source, "cpu")
            return files.generator
        return _derived_models_file(files, repo_id)

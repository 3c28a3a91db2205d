"""``resolve_checkpoint``: a repo id or a Hub folder turned into a checkpoint file every loader reads, and ``fetch``
with our networks' size caps. Above ``models.py`` (the Hub methods of the networks are in ``mixin.py``, below)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from huggingface_hub import cached_assets_path, constants
from safetensors.torch import save as st_save

from ..checkpoint.io import atomic_write_bytes
from ..models import Discriminator, Generator
from .download import HubFiles, fetch_files
from .errors import check_repo_id, hub_errors, is_repo_id, parse_repo_id, split_revision
from .mixin import load_discriminator_file, load_generator_file
from .names import DISCRIMINATOR_FILE, FORMAT_MODELS, FORMAT_VERSION, GENERATOR_FILE, LIBRARY_NAME


def fetch(
    repo_or_dir: str | Path,
    revision: str | None = None,
    *,
    generator: bool = True,
    discriminator: bool | None = None,
    **options: Any,
) -> HubFiles:
    """The files of a Hub model or a ``save_pretrained`` folder, sizes capped by our networks' architectures
    (``download.fetch_files``). ``generator`` / ``discriminator``: True = required, False = not fetched, None =
    fetched when the repo has it; ``options`` as ``fetch_files`` takes them."""
    wanted = {GENERATOR_FILE: (Generator, generator), DISCRIMINATOR_FILE: (Discriminator, discriminator)}
    return fetch_files(repo_or_dir, revision, wanted, **options)


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
        g = load_generator_file(files.generator, files.config, files.source, "cpu")
        d = load_discriminator_file(Discriminator, files.discriminator, files.config, files.source, "cpu")
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
            load_generator_file(files.generator, files.config, files.source, "cpu")
            return files.generator
        return _derived_models_file(files, repo_id)

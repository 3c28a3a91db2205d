"""Models on the Hugging Face Hub: ``save_pretrained`` / ``from_pretrained`` / ``push_to_hub``, the model card, the
export of a checkpoint as a Hub folder, and ``resolve_checkpoint`` that turns ``user/name[@revision]`` into a file.

``Generator`` and ``Discriminator`` get the three methods from ``models.HubMixin`` (huggingface_hub's
``PyTorchModelHubMixin``); the code behind them lives here. A Hub folder (what ``save_pretrained`` and
``export_for_hub`` write, what ``from_pretrained`` and ``resolve_checkpoint`` read; one repo holds G, or G and D)::

    README.md                  the model card: front matter (library_name, tags, pipeline_tag, datasets, license),
                               the eval report's headline figures beside the real-vs-real reference, the sample
                               grid and the exact train command
    config.json                the ModelConfig (image_size, channels, nz, ngf, ndf) and "library_name": "dcgan-studio"
    model.safetensors          the generator, a DCGAN Studio generator file (format dcgan_studio.generator): it also
                               loads with ``load_generator`` and wherever a checkpoint file is taken
    discriminator.safetensors  the discriminator, when there is one (format dcgan_studio.discriminator)
    samples.png                ``export_for_hub``: 64 samples, the grid ``sample --n 64 --seed 0`` draws
    report.json                ``export_for_hub`` with a report: the eval report the card quotes

Downloads go through huggingface_hub's own code (``hf_hub_download``: its cache, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``,
tokens). Only safetensors are read, never a pickle: a weight file's size is checked against the architecture in
config.json before it is downloaded, then its header and every tensor's name, dtype and shape are checked before
the weights are used (``load_generator``, the checkpoint's own checks). Every failure is one ``HubError`` line that
says what to do.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import torch
from huggingface_hub import (
    HfApi,
    ModelCard,
    ModelCardData,
    cached_assets_path,
    constants,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
    try_to_load_from_cache,
)
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from safetensors.torch import save as st_save

from .checkpoint import (
    CheckpointError,
    atomic_write_bytes,
    load_discriminator,
    load_generator,
    read_file,
    read_metadata,
)
from .config import ConfigError, ModelConfig
from .limits import parameter_count
from .models import Discriminator, Generator, HubMixin

LIBRARY_NAME = "dcgan-studio"
TAGS = ("dcgan", "gan", "unconditional-image-generation", "pytorch")
PIPELINE_TAG = "unconditional-image-generation"
DEFAULT_LICENSE = "mit"  # the project's; pass another for weights under other terms
PAPER_URL = "https://arxiv.org/abs/1511.06434"

CONFIG_FILE = "config.json"
GENERATOR_FILE = "model.safetensors"  # huggingface_hub's usual name: the file people look for first
DISCRIMINATOR_FILE = "discriminator.safetensors"
SAMPLES_FILE = "samples.png"
REPORT_FILE = "report.json"
CARD_FILE = "README.md"

# The checkpoint formats (see the checkpoint package's docstring): model.safetensors is a plain generator file; the
# discriminator file exists only in Hub folders, and resolve_checkpoint turns G + D into a local "models" file.
FORMAT_GENERATOR = "dcgan_studio.generator"
FORMAT_MODELS = "dcgan_studio.models"
FORMAT_DISCRIMINATOR = "dcgan_studio.discriminator"
FORMAT_VERSION = "1"

MAX_CONFIG_BYTES = 64 * 1024
HEADER_ALLOWANCE = 1024**2  # a weight file may exceed its tensors' bytes by this much (header and metadata)
N_SAMPLES = 64

# Hub ids of the datasets the trainer knows by name (datasets: in the front matter); others are named in the text only
HUB_DATASETS = {"mnist": "ylecun/mnist", "fashionmnist": "zalando-datasets/fashion_mnist", "cifar10": "uoft-cs/cifar10"}

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


def _where(repo_id: str, revision: str | None) -> str:
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
    what = repr(_where(repo_id, revision))
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
    where = _where(repo_id, commit[:12])
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


def fetch(
    repo_or_dir: str | Path,
    revision: str | None = None,
    *,
    generator: bool = True,
    discriminator: bool | None = None,
    max_bytes: int | None = None,
    token: str | bool | None = None,
    cache_dir: str | Path | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
) -> HubFiles:
    """The files of a Hub model (``user/name``, optionally at ``revision``) or of a ``save_pretrained`` folder.

    ``generator`` / ``discriminator``: True = required, False = not fetched, None = fetched when the repo has it.
    Weight files larger than their architecture needs, or than ``max_bytes``, are refused before downloading.
    """
    target, revision = split_revision(str(repo_or_dir), revision)
    wanted = {GENERATOR_FILE: (Generator, generator), DISCRIMINATOR_FILE: (Discriminator, discriminator)}
    found: dict[str, Path | None] = dict.fromkeys(wanted)
    folder = Path(target)
    if folder.is_dir():
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
    if not is_repo_id(target):
        raise HubError(f"{target!r} is neither a folder nor a Hub repo id; write user/name or user/name@revision")
    repo_id = target
    options = dict(token=token, cache_dir=cache_dir, force_download=force_download, local_files_only=local_files_only)
    with hub_errors(repo_id, revision):
        config_path = Path(hf_hub_download(repo_id, CONFIG_FILE, revision=revision, **options))
        commit = config_path.parent.name  # snapshots/<commit>/config.json: the other files come from the same commit
        config = read_config(config_path, repr(_where(repo_id, revision)))
        for name, (cls, want) in wanted.items():
            if want is not False:
                found[name] = _fetch_weight(repo_id, name, commit, _cap(cls, config, max_bytes), options, want is True)
    return HubFiles(f"{repo_id}@{commit}", config, found[GENERATOR_FILE], found[DISCRIMINATOR_FILE], commit)


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
) -> Path:
    """A checkpoint file for ``spec``, which may be a local file (returned as it is), a ``save_pretrained`` /
    ``export --hub-dir`` folder, or a Hub repo ``user/name`` / ``user/name@revision`` (downloaded with
    huggingface_hub, into its cache).

    A model with a generator only resolves to its ``model.safetensors`` (a generator file); one with a discriminator
    too resolves to a G + D "models" file built once in the assets cache, so ``load_discriminator`` works as for a
    shipped checkpoint. ``max_bytes`` caps each weight file (the Studio passes its upload cap). Raises ``HubError``.
    """
    text = str(spec).strip()
    path = Path(text).expanduser()
    if path.is_file() or (not path.is_dir() and not is_repo_id(text)):
        return path  # a local file, or something the checkpoint loaders will explain (a missing file)
    repo_id = None if path.is_dir() else split_revision(text)[0]
    files = fetch(path if path.is_dir() else text, max_bytes=max_bytes, token=token, cache_dir=cache_dir)
    with hub_errors(repo_id or str(path), None):
        if files.discriminator is None:  # the generator file itself, validated before it is handed out
            _load_generator_file(files.generator, files.config, files.source, "cpu")
            return files.generator
        return _derived_models_file(files, repo_id)


# ------------------------------------------------------------------------------------------------- writing


def _write_weights(path: Path, model, fmt: str) -> Path:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": fmt, "format_version": FORMAT_VERSION, "model_config": model.config.to_json()}
    return atomic_write_bytes(path, st_save(tensors, metadata=metadata))


def config_json(config: ModelConfig) -> str:
    """config.json of a Hub folder: the ModelConfig's fields and the library that reads them."""
    return json.dumps({"library_name": LIBRARY_NAME, **config.to_dict()}, indent=2, sort_keys=True) + "\n"


def save_weights(model, save_directory: str | Path) -> None:
    """``HubMixin._save_pretrained``: config.json and the network's safetensors file (G: model.safetensors, a
    generator checkpoint; D: discriminator.safetensors). A G and a D saved to one folder make one repo."""
    folder = Path(save_directory)
    atomic_write_bytes(folder / CONFIG_FILE, config_json(model.config).encode())
    if isinstance(model, Discriminator):
        _write_weights(folder / DISCRIMINATOR_FILE, model, FORMAT_DISCRIMINATOR)
    else:
        _write_weights(folder / GENERATOR_FILE, model, FORMAT_GENERATOR)


# ------------------------------------------------------------------------------------------------- model card

FIGURE_ROWS = (  # (key, label) of the card's table, in order
    ("classifier_frechet_distance", "Fréchet distance in classifier features (lower is better)"),
    ("precision", "precision (samples that look real)"),
    ("recall", "recall (real images the samples cover)"),
    ("class_evenness", "class evenness (normalised entropy, 1 = even)"),
    ("classes_present", "classes present (>= 1% of samples)"),
    ("classifier_score", "classifier score (Inception-Score-like)"),
    ("pixel_diversity", "pixel diversity (mean pairwise RMS distance)"),
    ("fid", "FID (Inception v3)"),
    ("inception_score", "Inception Score"),
)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def headline_figures(report: Mapping) -> dict:
    """The figures a model card quotes from an eval ``report.json`` (``python -m dcgan_studio eval --out DIR``), each
    generated beside its real-vs-real reference (held-out real images measured the same way against the training
    images). Figures the report lacks are left out."""

    def pair(generated, reference) -> dict:
        return {"generated": generated, "reference": reference}

    metrics: dict[str, dict] = {}
    clf = _get(report, "classifier") or {}
    if clf.get("available"):
        metrics["classifier_frechet_distance"] = pair(
            _get(clf, "frechet", "generated_vs_train"), _get(clf, "frechet", "held_out_vs_train")
        )
    pr = _get(report, "prdc") or {}
    if pr:
        metrics["precision"] = pair(_get(pr, "generated", "precision"), _get(pr, "held_out", "precision"))
        metrics["recall"] = pair(_get(pr, "generated", "recall"), _get(pr, "held_out", "recall"))
    if clf.get("available"):
        cov = clf.get("coverage") or {}
        metrics["class_evenness"] = pair(_get(cov, "generated", "evenness"), _get(cov, "held_out", "evenness"))
        n = _get(cov, "generated", "n_classes")
        present = [_get(cov, side, "present") for side in ("generated", "held_out")]
        metrics["classes_present"] = pair(*(None if k is None else f"{k} of {n}" for k in present))
        metrics["classifier_score"] = pair(_get(clf, "score", "generated"), _get(clf, "score", "held_out"))
    div = _get(report, "diversity") or {}
    if div:
        metrics["pixel_diversity"] = pair(div.get("generated"), div.get("held_out"))
    fi = _get(report, "fid_is") or {}
    if fi.get("available"):
        metrics["fid"] = pair(fi.get("fid"), None)
        if _get(fi, "inception_score", "mean") is not None:
            metrics["inception_score"] = pair(_get(fi, "inception_score", "mean"), None)
    metrics = {k: v for k, v in metrics.items() if v["generated"] is not None}
    return {
        "dataset": _get(report, "dataset"),
        "n_generated": _get(report, "n_generated"),
        "n_reference": _get(report, "n_held_out"),
        "feature_space": _get(pr, "feature_space"),
        "metrics": metrics,
    }


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.1f}" if abs(x) >= 100 else f"{x:.2f}" if abs(x) >= 10 else f"{x:.3f}"
    return str(x)


def hub_dataset_ids(dataset: str | None) -> list[str]:
    """The Hub dataset ids for the front matter's ``datasets`` (a trainer dataset name, or a Hub id given as is)."""
    if not dataset:
        return []
    if "/" in dataset:
        return [dataset]
    key = dataset.lower().replace("-", "").replace("_", "")
    return [HUB_DATASETS[key]] if key in HUB_DATASETS else []


def model_card(
    figures: Mapping | None = None,
    *,
    model_config: ModelConfig | Mapping,
    dataset: str | None = None,
    license: str = DEFAULT_LICENSE,
    train_command: str | None = None,
    sample_image: str | None = None,
    sample_seed: int = 0,
    has_generator: bool = True,
    has_discriminator: bool = False,
    repo_id: str | None = None,
    train_config: Mapping | None = None,
    report_file: str | None = None,
) -> str:
    """README.md of a Hub folder: YAML front matter and markdown. Pure: everything comes from the arguments.

    ``figures`` is ``headline_figures(report)``; ``dataset`` the trainer's dataset name ("digits", "mnist" ...) or a
    Hub dataset id; ``sample_image`` a file name in the folder; ``train_command`` the exact command that trained it.
    """
    cfg = model_config if isinstance(model_config, ModelConfig) else ModelConfig.from_dict(dict(model_config))
    figures = figures or {}
    dataset = dataset or figures.get("dataset")
    data = ModelCardData(
        library_name=LIBRARY_NAME,
        license=license,
        pipeline_tag=PIPELINE_TAG,
        tags=[*TAGS, "model_hub_mixin", "pytorch_model_hub_mixin"],
        datasets=hub_dataset_ids(dataset) or None,
    )
    name = repo_id or "<user>/<repo>"
    colour = "RGB" if cfg.channels == 3 else "grayscale"
    n_g, n_d = parameter_count(cfg.image_size, cfg.channels, cfg.nz, cfg.ngf, cfg.ndf)
    holds = [f"the generator (`{GENERATOR_FILE}`)"] * has_generator + [
        f"the discriminator (`{DISCRIMINATOR_FILE}`)"
    ] * has_discriminator
    lines = [
        "---",
        data.to_yaml().strip(),
        "---",
        "",
        f"# DCGAN{f' on {dataset}' if dataset else ''}: {cfg.image_size}x{cfg.image_size} {colour}",
        "",
        f"A DCGAN ([Radford, Metz & Chintala, 2015]({PAPER_URL})) trained with DCGAN Studio"
        f"{f' on `{dataset}`' if dataset else ''}. This repo holds {' and '.join(holds) or 'no weights'}, as "
        "safetensors; `config.json` gives the architecture.",
        "",
        "| image size | channels | nz | ngf | ndf | parameters (G / D) |",
        "|---|---|---|---|---|---|",
        f"| {cfg.image_size} | {cfg.channels} | {cfg.nz} | {cfg.ngf} | {cfg.ndf} "
        f"| {n_g / 1e6:.2f}M / {n_d / 1e6:.2f}M |",
        "",
    ]
    if sample_image:
        lines += [
            f"![{N_SAMPLES} samples, seed {sample_seed}]({sample_image})",
            "",
            f"{N_SAMPLES} samples, z ~ N(0, I) with seed {sample_seed}: "
            f"`python -m dcgan_studio sample --checkpoint {name} --n {N_SAMPLES} --seed {sample_seed} "
            "--out samples.png` draws this grid.",
            "",
        ]
    lines += [
        "## Use",
        "",
        "```python",
        "import torch",
        "from dcgan_studio.models import Generator",
        "",
        f'G = Generator.from_pretrained("{name}")  # or "{name}@<revision>", or a local folder',
        f"images = G(torch.randn(16, G.config.nz))  # (16, {cfg.channels}, {cfg.image_size}, {cfg.image_size}), "
        "in [-1, 1]",
        "```",
        "",
        f'Every `--checkpoint` of the CLI and the Studio\'s "Load from the Hub" field take `{name}` as well as a file.',
        "",
    ]
    metrics = figures.get("metrics") or {}
    if metrics:
        n_gen, n_ref = figures.get("n_generated"), figures.get("n_reference")
        lines += [
            "## Evaluation",
            "",
            (
                f"{n_gen} generated samples against {n_ref} held-out real images"
                if n_gen and n_ref
                else "Generated samples"
            )
            + (f" of `{figures.get('dataset') or dataset}`" if figures.get("dataset") or dataset else "")
            + ". Every figure stands beside the **real-vs-real reference**: held-out real images measured the same "
            "way against the training images, which a generator can at best match"
            + (f". Classifier features: {figures['feature_space']}." if figures.get("feature_space") else "."),
            "",
            "| | generated | real-vs-real reference |",
            "|---|---|---|",
        ]
        labels = dict(FIGURE_ROWS)
        for key in [k for k, _ in FIGURE_ROWS if k in metrics] + [k for k in metrics if k not in labels]:
            row = metrics[key]
            lines.append(f"| {labels.get(key, key)} | {_fmt(row.get('generated'))} | {_fmt(row.get('reference'))} |")
        lines.append("")
        if report_file:
            lines += [f"The full report: [`{report_file}`]({report_file}) (`python -m dcgan_studio eval`).", ""]
    lines += ["## Training", ""]
    if train_command:
        lines += ["```bash", train_command.strip(), "```", ""]
    else:
        lines += ["The train command was not recorded.", ""]
    if train_config:
        lines += [
            "Training configuration (from the checkpoint):",
            "",
            "```json",
            json.dumps(dict(train_config), indent=2, sort_keys=True, default=str),
            "```",
            "",
        ]
    return "\n".join(lines)


def model_card_for(model, **kwargs) -> ModelCard:
    """``HubMixin.generate_model_card``: the card of a model saved alone (``model_card_kwargs`` pass through)."""
    is_d = isinstance(model, Discriminator)
    kwargs.setdefault("has_generator", not is_d)
    kwargs.setdefault("has_discriminator", is_d)
    return ModelCard(model_card(kwargs.pop("figures", None), model_config=model.config, **kwargs))


# ------------------------------------------------------------------------------------------------- export / push


def export_for_hub(
    checkpoint_path: str | Path,
    out_dir: str | Path,
    report_json: str | Path | None = None,
    train_command: str | None = None,
    sample_seed: int = 0,
    *,
    dataset: str | None = None,
    license: str = DEFAULT_LICENSE,
    repo_id: str | None = None,
) -> Path:
    """Write a Hub folder (see the module docstring) from a DCGAN Studio checkpoint: the generator, the
    discriminator when the file holds one, config.json, a sample grid, the eval report and the model card.

    ``report_json`` is the report.json of ``python -m dcgan_studio eval --out DIR``; ``train_command`` the exact
    command that trained the checkpoint; ``dataset`` defaults to the one recorded in the checkpoint or the report.
    Returns ``out_dir``. Push it with ``push_folder`` (or ``hf upload``).
    """
    from .latent import generate, sample_z
    from .plots import save_grid

    checkpoint = Path(checkpoint_path)
    info = read_metadata(checkpoint)  # header only: refuses what is not a DCGAN Studio file before loading
    generator = load_generator(checkpoint)
    discriminator = load_discriminator(checkpoint) if info.get("has_discriminator") else None
    report = None
    if report_json is not None:
        try:
            report = json.loads(Path(report_json).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HubError(
                f"cannot read the eval report {report_json} ({exc}); give the report.json of `eval --out DIR`"
            ) from None
        if not isinstance(report, dict):
            raise HubError(f"{report_json} is not an eval report (a JSON object written by `eval --out DIR`)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (CARD_FILE, DISCRIMINATOR_FILE, REPORT_FILE, SAMPLES_FILE):  # a previous export of another checkpoint
        (out / stale).unlink(missing_ok=True)
    generator.save_pretrained(out)
    if discriminator is not None:
        discriminator.save_pretrained(out)
    z = sample_z(N_SAMPLES, generator.config.nz, sample_seed)
    save_grid(generate(generator, z), out / SAMPLES_FILE)  # the grid `sample --n 64 --seed S` draws
    if report is not None:
        shutil.copyfile(report_json, out / REPORT_FILE)
    train_config = info.get("train_config")
    dataset = dataset or _get(train_config, "dataset") or _get(report, "dataset")
    card = model_card(
        headline_figures(report) if report else None,
        model_config=generator.config,
        dataset=dataset,
        license=license,
        train_command=train_command,
        sample_image=SAMPLES_FILE,
        sample_seed=sample_seed,
        has_discriminator=discriminator is not None,
        repo_id=repo_id,
        train_config=train_config,
        report_file=REPORT_FILE if report is not None else None,
    )
    atomic_write_bytes(out / CARD_FILE, card.encode("utf-8"))
    return out


def push_folder(
    folder: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool | None = None,
    branch: str | None = None,
    commit_message: str = "Upload DCGAN Studio model",
) -> str:
    """Upload a Hub folder written by ``export_for_hub`` (checked first) to ``repo_id``; returns the commit URL."""
    folder = Path(folder)
    fetch(folder, discriminator=None)  # config.json of ours, a generator, sizes within the architecture's
    api = HfApi(token=token)
    with hub_errors(repo_id, branch):
        repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
        return str(
            api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=commit_message, revision=branch)
        )

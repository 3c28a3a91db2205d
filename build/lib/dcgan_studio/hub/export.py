"""Writing Hub folders: ``save_pretrained``'s files, ``export_for_hub`` (a checkpoint as a Hub folder with a card,
samples and the eval report) and ``push_folder``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from huggingface_hub import HfApi
from safetensors.torch import save as st_save

from ..checkpoint import atomic_write_bytes, load_discriminator, load_generator, read_metadata
from ..config import ModelConfig
from ..models import Discriminator
from .card import dig, headline_figures, model_card
from .errors import HubError, hub_errors
from .fetch import fetch
from .names import (
    CARD_FILE,
    CONFIG_FILE,
    DEFAULT_LICENSE,
    DISCRIMINATOR_FILE,
    FORMAT_DISCRIMINATOR,
    FORMAT_GENERATOR,
    FORMAT_VERSION,
    GENERATOR_FILE,
    LIBRARY_NAME,
    N_SAMPLES,
    REPORT_FILE,
    SAMPLES_FILE,
)

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
    """Write a Hub folder (see the package docstring) from a DCGAN Studio checkpoint: the generator, the
    discriminator when the file holds one, config.json, a sample grid, the eval report and the model card.

    ``report_json`` is the report.json of ``python -m dcgan_studio eval --out DIR``; ``train_command`` the exact
    command that trained the checkpoint (default: ``extra.train_command`` in its metadata, when recorded);
    ``dataset`` defaults to the one recorded in the checkpoint or the report.
    Returns ``out_dir``. Push it with ``push_folder`` (or ``hf upload``).
    """
    from ..latent import generate, sample_z
    from ..plots import save_grid

    checkpoint = Path(checkpoint_path)
    info = read_metadata(checkpoint)  # header only: refuses what is not a DCGAN Studio file before loading
    generator = load_generator(checkpoint)
    discriminator = load_discriminator(checkpoint) if info.get("has_discriminator") else None
    report = read_report(report_json) if report_json is not None else None
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
    card = model_card(
        headline_figures(report) if report else None,
        model_config=generator.config,
        dataset=dataset or dig(train_config, "dataset") or dig(report, "dataset"),
        license=license,
        train_command=train_command or info.get("extra.train_command"),
        sample_image=SAMPLES_FILE,
        sample_seed=sample_seed,
        has_discriminator=discriminator is not None,
        repo_id=repo_id,
        train_config=train_config,
        report_file=REPORT_FILE if report is not None else None,
    )
    atomic_write_bytes(out / CARD_FILE, card.encode("utf-8"))
    return out


def read_report(report_json: str | Path) -> dict:
    """An eval report.json, or a ``HubError`` that says which file to give."""
    try:
        report = json.loads(Path(report_json).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HubError(
            f"cannot read the eval report {report_json} ({exc}); give the report.json of `eval --out DIR`"
        ) from None
    if not isinstance(report, dict):
        raise HubError(f"{report_json} is not an eval report (a JSON object written by `eval --out DIR`)")
    return report


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

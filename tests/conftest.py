"""Shared fixtures: tiny models and runs so the suite stays fast on a 2-core CPU, fully offline."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Gradio's file cache, one per test process (each pytest-xdist worker), set before anything imports Gradio: the cache
# names a file by a hash of its content, so two Studios in two workers that make the same picture (the tiny
# checkpoint's seed-0 grid) share one cached file, and a Studio deletes every file it cached when it shuts down: one
# worker's module ending broke the other's page-load grid (a broken <img>, twice in a row in the full suite).
os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="dcgan-studio-tests-gradio-")
atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], ignore_errors=True)

import pytest  # noqa: E402
from support import TINY, TWO_RUNS  # noqa: E402

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# One intra-op thread for torch, here and in every subprocess the tests start (set before torch is imported): the
# tiny models gain nothing from a second, and two OpenMP threads per process spin against the Studio server's, the
# clients', the subprocesses' and the other tests' threads. 20 tiny training steps measured 1.7 s with one thread,
# 39 s with two, on 2 busy cores. OMP_NUM_THREADS=2 in the environment restores the default.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def tiny_model_config():
    from dcgan_studio.config import ModelConfig

    return ModelConfig(**TINY)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A run folder from a few CPU steps of a tiny model on the digits (session-wide, made once)."""
    from dcgan_studio.config import ModelConfig, TrainConfig
    from dcgan_studio.train import Trainer

    run_dir = tmp_path_factory.mktemp("tiny_run")
    cfg = TrainConfig(batch_size=64, epochs=1, max_steps=6, log_every=2, device="cpu", n_fixed=16)
    Trainer(ModelConfig(**TINY), cfg, run_dir=run_dir).run()
    return run_dir


@pytest.fixture(scope="session", autouse=True)
def evaluations_made_once():
    """The core's ``evaluate`` made once per (checkpoint file, options) for the whole session: the Studios of
    different test modules (local and public, each module its own) evaluate the same tiny checkpoint with the same
    defaults, and each evaluation trains nine linear SVMs (seconds on 2 cores). What the Studio does with the
    report (files, plots, what the page shows) still runs each time; ``evaluate`` itself has its own tests, which
    call it directly (not through this module attribute) or on their own files. A call with an in-memory dataset
    (an uploaded zip) or a file changed since is made afresh; each Studio's own data folder counts only when it
    holds CIFAR-10 (the paper's probe), which a test's never does."""
    import copy
    import importlib
    import inspect

    module = importlib.import_module("dcgan_studio.metrics.evaluate")  # the package re-exports the function

    made: dict = {}
    real = module.evaluate
    signature = inspect.signature(real)

    def evaluate(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        options = dict(bound.arguments)
        if options.pop("dataset_obj") is not None:
            return real(*args, **kwargs)
        options.pop("progress")
        cifar10 = options.pop("cifar10_root")
        options["cifar10"] = cifar10 if cifar10 and any(Path(cifar10).glob("cifar-10*")) else None  # else unused
        path = Path(options.pop("checkpoint")).resolve()
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size, tuple(sorted((k, repr(v)) for k, v in options.items())))
        if key not in made:
            made[key] = real(*args, **kwargs)
        return copy.deepcopy(made[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "evaluate", evaluate)
        yield


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory) -> Path:
    """A folder with two tiny finished runs, a/ and b/, of 6 steps with grids at 2, 4 and 6, differing in lr and seed
    (``support.TWO_RUNS``): compare's and the Runs tab's tests read them (never write: copy a run to change it)."""
    from dcgan_studio.config import ModelConfig, TrainConfig
    from dcgan_studio.data import load_digits
    from dcgan_studio.train import Trainer

    root = tmp_path_factory.mktemp("two_runs")
    data = load_digits(32, 1)
    for name, kw in TWO_RUNS.items():
        cfg = TrainConfig(
            batch_size=32, epochs=1, max_steps=6, log_every=1, sample_every=2, device="cpu", n_fixed=4, **kw
        )
        Trainer(ModelConfig(**TINY), cfg, run_dir=root / name, dataset=data).run()
    return root


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """A fake Hub serving tmp_path/repos, with huggingface_hub pointed at it and a fresh HF_HOME (online)."""
    from fake_hub import FakeHub, use_fake_hub

    with FakeHub(tmp_path / "repos") as server:
        use_fake_hub(monkeypatch, server.url, tmp_path / "hf_home")
        yield server


# ------------------------------------------------------------------------------------------- the Studio app


@pytest.fixture(scope="session")
def tiny_models_checkpoint(tmp_path_factory) -> Path:
    """A G+D 'models' checkpoint of the tiny architecture (random weights: shapes and wiring are what app tests
    need)."""
    import torch

    from dcgan_studio.checkpoint import save_models
    from dcgan_studio.config import ModelConfig
    from dcgan_studio.models import build_models

    torch.manual_seed(0)
    g, d = build_models(ModelConfig(**TINY))
    return save_models(tmp_path_factory.mktemp("app_ckpt") / "tiny_models.safetensors", g, d)


@pytest.fixture
def studio(tiny_models_checkpoint, tmp_path):
    """A Studio context (no Blocks) on the tiny checkpoint, with runs going to tmp_path/runs."""
    from dcgan_studio.app.common import make_studio

    return make_studio(shipped=tiny_models_checkpoint, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data")


@pytest.fixture(scope="module")
def running_studio(tiny_models_checkpoint, tmp_path_factory):
    """The Studio launched on 127.0.0.1 (a free port from 7860 up) on the tiny checkpoint: (demo, url, root)."""
    from dcgan_studio.app import build_app, launch_options

    root = tmp_path_factory.mktemp("studio")
    demo = build_app(shipped=tiny_models_checkpoint, runs_dir=root / "runs", data_dir=root / "data")
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
    try:
        yield demo, url, root
    finally:
        demo.studio.jobs.stop_and_wait(60)
        demo.close()


# ------------------------------------------------------------------------------------------------- the browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="session")
def browser():
    """One headless chromium (Playwright) for every browser test of the session: each test opens its own context
    (``browser_kit.page``), so nothing but the process is shared."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser_kit import CHROMIUM

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()

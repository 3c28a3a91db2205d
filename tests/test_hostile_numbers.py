"""Range checks in the core: no number a caller passes can make one call exhaust memory or time."""

import math

import pytest
import torch
from support import TINY

from dcgan_studio import limits as L
from dcgan_studio.config import ConfigError, ModelConfig, TrainConfig
from dcgan_studio.latent import interpolate, neighbours, project_image, sample_z
from dcgan_studio.models import Discriminator, Generator


@pytest.mark.parametrize(
    "cfg",
    [dict(), dict(image_size=64, channels=3, ngf=64, ndf=32), dict(image_size=128, channels=3, nz=7, ngf=16, ndf=8)],
)
def test_parameter_count_matches_the_models(cfg):
    m = ModelConfig(**cfg)
    real = (sum(p.numel() for p in Generator(m).parameters()), sum(p.numel() for p in Discriminator(m).parameters()))
    assert L.parameter_count(m.image_size, m.channels, m.nz, m.ngf, m.ndf) == real


def test_model_config_refuses_models_that_cannot_fit():
    with pytest.raises(ConfigError, match="parameters per network"):
        ModelConfig(image_size=128, channels=3, nz=1024, ngf=1024, ndf=1024)
    for bad in (dict(nz=True), dict(ngf=0), dict(ndf=2000), dict(nz=16.5), dict(image_size=48), dict(channels=2)):
        with pytest.raises(ConfigError):
            ModelConfig(**{**TINY, **bad})
    ModelConfig(image_size=128, channels=3, ngf=256, ndf=256)  # the Studio's largest local model still fits


@pytest.mark.parametrize(
    "field,value",
    [
        ("batch_size", 0),
        ("batch_size", 10**9),
        ("batch_size", 64.5),
        ("batch_size", "abc"),
        ("batch_size", float("nan")),
        ("epochs", 10**9),
        ("seed", -1),
        ("seed", 2**40),
        ("n_fixed", 10**7),
        ("max_steps", 10**12),
        ("log_every", 0),
        ("checkpoint_every", -1),
        ("sample_every", 10**12),
        ("keep_checkpoints", 0),
        ("keep_checkpoints", 10**9),
        ("lr", float("nan")),
        ("lr", float("inf")),
        ("beta1", 1.0),
        ("extra", "not a dict"),
    ],
)
def test_train_config_refuses_out_of_range_values(field, value):
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**{field: value})


def test_train_config_accepts_whole_floats_from_sliders():
    cfg = TrainConfig(batch_size=64.0, epochs=2.0, seed=7.0, max_steps=10.0)
    assert (cfg.batch_size, cfg.epochs, cfg.seed, cfg.max_steps) == (64, 2, 7, 10)
    assert all(type(v) is int for v in (cfg.batch_size, cfg.epochs, cfg.seed, cfg.max_steps))
    assert TrainConfig.from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: sample_z(10**9, 100, 0), "n must be between"),
        (lambda: sample_z(-1, 100, 0), "n must be between"),
        (lambda: sample_z(4, 10**6, 0), "nz must be between"),
        (lambda: sample_z(4, 16, -3), "seed must be between"),
        (lambda: sample_z(4, 16, 2**70), "seed must be between"),
        (lambda: sample_z(4, 16, 0, truncation=1e-9), "truncation must be between"),
        (lambda: sample_z(4, 16, 0, truncation=-1), "truncation must be between"),
        (lambda: sample_z(4, 16, 0, truncation=float("nan")), "truncation must be between"),
        (lambda: interpolate(torch.zeros(16), torch.ones(16), 10**8), "steps must be between"),
        (lambda: interpolate(torch.zeros(16), torch.ones(16), 1), "steps must be between"),
        (lambda: neighbours(torch.zeros(16), 10**8), "n must be between"),
        (lambda: neighbours(torch.zeros(16), 4, scale=float("inf")), "scale must be between"),
    ],
)
def test_latent_operations_refuse_sizes_that_would_exhaust_memory(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_projection_bounds_and_normal_calls_still_work():
    G = Generator(ModelConfig(**TINY))
    target = torch.zeros(1, 32, 32, dtype=torch.uint8)
    for kw, match in ((dict(steps=10**7), "steps"), (dict(restarts=10**6), "restarts"), (dict(lr=float("nan")), "lr")):
        with pytest.raises(ValueError, match=match):
            project_image(G, target, **kw)
    assert project_image(G, target, steps=2, restarts=2).z.shape == (1, TINY["nz"])
    assert sample_z(3, 16, 5, truncation=0.5).abs().max() <= 0.5
    assert torch.equal(sample_z(3, 16, 5), sample_z(3.0, 16, 5))  # a whole float is a whole number
    assert sample_z(0, 16, 0).shape == (0, 16) and interpolate(torch.zeros(4), torch.ones(4), 5).shape == (5, 4)


@pytest.mark.parametrize("public", [False, True])
def test_the_studio_limits_sit_inside_the_core_limits(public):
    from dcgan_studio.app.settings import Limits

    S = Limits.for_mode(public)
    assert S.max_samples <= L.MAX_LATENT_SAMPLES and S.max_truncation <= L.MAX_TRUNCATION
    assert S.max_interp_steps <= L.MAX_INTERP_STEPS and S.max_neighbours <= L.MAX_NEIGHBOURS
    assert S.max_project_steps <= L.MAX_PROJECT_STEPS and S.max_restarts <= L.MAX_PROJECT_RESTARTS
    assert S.max_seed <= L.MAX_SEED and S.max_batch <= L.MAX_BATCH and S.max_epochs <= L.MAX_EPOCHS
    assert S.max_steps <= L.MAX_STEPS and S.max_project_pixels <= L.MAX_IMAGE_PIXELS
    assert S.max_upload_mb * 1024**2 <= L.ZIP_MAX_TOTAL_BYTES
    big = max(L.parameter_count(max(S.image_sizes), 3, S.max_nz, S.max_width, S.max_width))
    assert big <= L.MAX_PARAMS_PER_NETWORK  # every model the Studio offers is allowed by the core
    assert math.isfinite(L.MIN_TRUNCATION)

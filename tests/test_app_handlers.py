"""The Studio's tab logic without a browser: every handler is a plain function over the core."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from torch import nn

gr = pytest.importorskip("gradio")

from support import ROOT, TINY  # noqa: E402

from dcgan_studio.app import (  # noqa: E402
    arithmetic_tab,
    dropslot,
    features_tab,
    interpolate_tab,
    project_tab,
    sample_tab,
    settings,
    train_tab,
)
from dcgan_studio.app.common import pool_add  # noqa: E402
from dcgan_studio.app.errors import StudioError, user_errors  # noqa: E402
from dcgan_studio.app.jobs import JobRegistry  # noqa: E402
from dcgan_studio.app.samples import SampleRegistry  # noqa: E402
from dcgan_studio.app.serve import opening_checkpoint, serve, server_address  # noqa: E402
from dcgan_studio.app.settings import Limits  # noqa: E402
from dcgan_studio.app.visitors import LOCAL_VISITOR  # noqa: E402
from dcgan_studio.latent import generate, neighbours, sample_z  # noqa: E402

LIMITS = Limits()  # a local Studio's limits (the studio fixture)


@pytest.fixture(scope="module")
def contrast_checkpoint(tmp_path_factory) -> Path:
    """The tiny architecture with He-initialised G convolutions. DCGAN's N(0, 0.02) init leaves a G this narrow within
    a hair of grey (every pixel 127 or 128), so its pictures could not be told from blank ones, and a rounding flip
    at 127.5 from noise; with He init the samples span the grey range (std about 35 grey levels) and differ."""
    from dcgan_studio.checkpoint import save_models
    from dcgan_studio.config import ModelConfig
    from dcgan_studio.models import build_models

    torch.manual_seed(0)
    g, d = build_models(ModelConfig(**TINY))
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, nn.ConvTranspose2d):  # fan-in of one output pixel: in_channels x (kernel / stride)^2
                m.weight.normal_(0, math.sqrt(2.0 / (m.in_channels * (m.kernel_size[0] // m.stride[0]) ** 2)))
    return save_models(tmp_path_factory.mktemp("contrast_ckpt") / "contrast.safetensors", g, d)


@pytest.fixture
def studio(contrast_checkpoint, tmp_path):
    """conftest's ``studio`` on the contrast checkpoint (same architecture: ngf = ndf = 8, nz = 16, 32 px)."""
    from dcgan_studio.app.studio import make_studio

    return make_studio(shipped=contrast_checkpoint, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data")


def ckpt(studio) -> str:
    return studio.models.default(LOCAL_VISITOR)


def assert_same_pixels(a: torch.Tensor, b: torch.Tensor) -> None:
    """The same z drawn by G on two paths (batches of different sizes: the CPU libraries pick kernels per shape, and
    AVX-512/AMX CPUs pick others than AVX2 ones) agrees to float rounding, which can move a pixel sitting at x.5 across
    a rounding boundary: at most 1 grey level, on at most 1% of the pixels. Anything else is a different picture."""
    assert a.shape == b.shape and a.dtype == b.dtype == torch.uint8
    diff = (a.int() - b.int()).abs()
    assert int(diff.max()) <= 1 and float((diff > 0).float().mean()) <= 0.01, (
        int(diff.max()),
        float((diff > 0).float().mean()),
    )


def not_blank(image: torch.Tensor, min_std: float = 5.0) -> bool:
    """More than a flat or nearly flat picture: pixel standard deviation above ``min_std`` grey levels."""
    return float(image.float().std()) > min_std


def assert_grid_shows(path, images: torch.Tensor, padding: int = 2) -> None:
    """A saved grid (torchvision's make_grid with ``padding`` px, enlarged by an integer factor, nearest neighbour)
    shows exactly ``images`` (N, 1, S, S) in order, pixel for pixel, whatever its column count and factor."""
    grid = np.asarray(Image.open(path).convert("RGB"))[..., 0]
    h, w = grid.shape
    n, side = len(images), images.shape[-1]
    step = side + padding
    for f in range(1, 65):
        if w % f or h % f or (w // f - padding) % step or (h // f - padding) % step:
            continue
        cols, rows = (w // f - padding) // step, (h // f - padding) // step
        if cols * rows < n:
            continue
        cells = np.stack(
            [
                grid[
                    (padding + (k // cols) * step) * f : (padding + (k // cols) * step + side) * f : f,
                    (padding + (k % cols) * step) * f : (padding + (k % cols) * step + side) * f : f,
                ]
                for k in range(n)
            ]
        )
        if np.array_equal(cells, images[:, 0].numpy()):
            return
    raise AssertionError(f"{path}: this {w}x{h} image is not a grid of the {n} images")


# ------------------------------------------------------------------------------------------------ settings, models


def test_settings_checks_refuse_out_of_range():
    assert settings.check_int("count", 5, 1, 10) == 5
    for bad in (0, 11, "x", 2.5, None):
        with pytest.raises(ValueError):
            settings.check_int("count", bad, 1, 10)
    with pytest.raises(ValueError):
        settings.check_float("scale", float("nan"), 0, 1)


def test_model_store_offers_only_known_checkpoints(studio, tmp_path):
    assert studio.models.resolve(LOCAL_VISITOR, None) == Path(ckpt(studio))
    with pytest.raises(StudioError):
        studio.models.resolve(LOCAL_VISITOR, "/etc/passwd")
    other = tmp_path / "elsewhere.safetensors"
    other.write_bytes(Path(ckpt(studio)).read_bytes())
    with pytest.raises(StudioError):
        studio.models.resolve(LOCAL_VISITOR, str(other))  # a real checkpoint, but not one the Studio offers
    assert studio.models.register_upload(LOCAL_VISITOR, other) == str(other)
    assert studio.models.resolve(LOCAL_VISITOR, str(other)) == other
    bad = tmp_path / "notes.txt"
    bad.write_text("hi")
    with pytest.raises(StudioError):
        studio.models.register_upload(LOCAL_VISITOR, bad)
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(b"\x00" * 64)
    with pytest.raises(StudioError):
        studio.models.register_upload(LOCAL_VISITOR, fake)


def test_user_errors_become_gradio_errors():
    with pytest.raises(gr.Error):
        user_errors(lambda: settings.check_int("n", 0, 1, 2))()


# ------------------------------------------------------------------------------------------------ sample


def test_sample_shapes_registry_and_downloads(studio):
    samples, images, grid_path, z_path = sample_tab.sample(
        studio, LOCAL_VISITOR, ckpt(studio), seed=3, count=10, truncation=1.5
    )
    assert images.shape == (10, 1, 32, 32) and images.dtype == torch.uint8
    assert len(samples) == 10 and all(studio.samples.get(LOCAL_VISITOR, s.id) is s for s in samples)
    z = load_file(z_path)["z"]
    assert z.shape == (10, 16) and z.abs().max() <= 1.5
    assert torch.equal(z, sample_z(10, 16, 3, 1.5))  # the same function on the same seed: bitwise by design
    assert torch.equal(samples[4].z, z[4])
    assert Image.open(grid_path).size[0] >= 256
    assert (
        all(not_blank(im) for im in images) and (images[0] != images[1]).float().mean() > 0.3
    )  # pictures, each its own
    assert_grid_shows(grid_path, images)  # the PNG grid shows exactly these images, in order
    assert samples[0].thumb.name == f"s_{samples[0].id}.png"
    with Image.open(samples[0].thumb) as thumb:  # the gallery thumbnail is the sample, enlarged THUMB_SCALE times
        k = LIMITS.thumb_scale
        assert thumb.size == (32 * k, 32 * k)
        assert np.array_equal(np.asarray(thumb.convert("L"))[::k, ::k], images[0, 0].numpy())


@pytest.mark.parametrize(
    "kwargs", [dict(count=0), dict(count=LIMITS.max_samples + 1), dict(truncation=-1), dict(seed=-5)]
)
def test_sample_refuses_out_of_range(studio, kwargs):
    args = dict(seed=0, count=4, truncation=0) | kwargs
    with pytest.raises(ValueError):
        sample_tab.sample(studio, LOCAL_VISITOR, ckpt(studio), **args)


def test_pool_keeps_newest_first_and_bounded():
    pool = pool_add([], ["a", "b"])
    pool = pool_add(pool, ["c", "a"])
    assert pool == ["c", "a", "b"]
    assert len(pool_add([], [str(i) for i in range(LIMITS.max_pool + 5)])) == LIMITS.max_pool


# ------------------------------------------------------------------------------------------------ drops


def test_drop_payload_maps_back_to_server_sample(studio):
    samples, *_ = sample_tab.sample(studio, LOCAL_VISITOR, ckpt(studio), seed=0, count=3, truncation=0)
    s = samples[1]
    url = f"http://127.0.0.1:7860/gradio_api/file=/tmp/gradio/abc123/s_{s.id}.png"
    assert studio.samples.resolve_drop(LOCAL_VISITOR, {"url": url}) is s
    assert studio.samples.resolve_drop(LOCAL_VISITOR, s.id) is s
    ids = dropslot.add(studio, LOCAL_VISITOR, [], {"url": url}, capacity=2)
    ids = dropslot.add(studio, LOCAL_VISITOR, ids, samples[0].id, capacity=2)
    ids = dropslot.add(studio, LOCAL_VISITOR, ids, samples[2].id, capacity=2)
    assert ids == [samples[0].id, samples[2].id]  # a full slot drops its oldest


@pytest.mark.parametrize(
    "payload",
    [
        {"url": "http://127.0.0.1:7860/gradio_api/file=/tmp/gradio/x/s_0123456789abcdef.png"},  # well-formed, unknown
        {"url": "http://evil.example/cat.png"},
        {"url": "/gradio_api/file=/etc/passwd"},
        {"url": ""},
        {},
        {"url": "s_../../etc/passwd.png"},
        "not-an-id",
        None,
        {"url": 12345},
    ],
)
def test_drop_payloads_that_are_not_server_samples_are_refused(studio, payload):
    with pytest.raises(StudioError):
        studio.samples.resolve_drop(LOCAL_VISITOR, payload)
    with pytest.raises(StudioError):
        dropslot.add(studio, LOCAL_VISITOR, [], payload, capacity=4)


def test_slot_html_shows_thumbnails_inline(studio):
    samples, *_ = sample_tab.sample(studio, LOCAL_VISITOR, ckpt(studio), seed=0, count=2, truncation=0)
    html = dropslot.render("A", samples)
    assert html.count("data:image/png;base64,") == 2 and "A (2)" in html
    assert "drag samples here" in dropslot.render("B", [])


def test_registry_forgets_oldest_and_deletes_their_files(tmp_path):
    reg = SampleRegistry(tmp_path / "reg", max_items=3)
    made = [reg.add(LOCAL_VISITOR, torch.zeros(4), torch.zeros(1, 8, 8, dtype=torch.uint8), str(i)) for i in range(5)]
    assert len(reg) == 3 and reg.get(LOCAL_VISITOR, made[0].id) is None and not made[0].thumb.exists()
    assert reg.get(LOCAL_VISITOR, made[4].id) is made[4]


# ------------------------------------------------------------------------------------------------ interpolate


@pytest.mark.parametrize("mode", ["linear", "spherical (slerp)"])
def test_interpolation_between_samples(studio, mode):
    samples, images, *_ = sample_tab.sample(studio, LOCAL_VISITOR, ckpt(studio), seed=5, count=2, truncation=0)
    frames, strip, gif, caption = interpolate_tab.walk(
        studio, LOCAL_VISITOR, ckpt(studio), samples[0].id, samples[1].id, 0, 0, mode, 7
    )
    assert frames.shape == (7, 1, 32, 32)
    # the ends are the two samples (drawn in a batch of 7 here, of 2 there: equal up to rounding,
    # see assert_same_pixels)
    assert_same_pixels(frames[0], images[0])
    assert_same_pixels(frames[-1], images[1])
    middle = (frames[3].float() - images[0].float()).abs().mean(), (frames[3].float() - images[1].float()).abs().mean()
    assert min(middle) > 2, middle  # the walk passes through other pictures, not a copy of one end
    assert Image.open(strip).size[0] > Image.open(strip).size[1]
    assert_grid_shows(strip, frames)  # the strip PNG shows the frames in order
    with Image.open(gif) as g:
        assert g.is_animated and g.n_frames >= 7
        g.seek(0)
        first = np.asarray(g.convert("L"))
        k = first.shape[0] // 32
        assert first.shape == (32 * k, 32 * k) and np.array_equal(first[::k, ::k], frames[0, 0].numpy())
    assert samples[0].label in caption


def test_interpolation_by_seed_and_limits(studio):
    frames, *_ = interpolate_tab.walk(studio, LOCAL_VISITOR, ckpt(studio), None, None, 1, 2, "linear", 3)
    G = studio.models.get(LOCAL_VISITOR, ckpt(studio)).generator
    assert_same_pixels(frames[0], generate(G, sample_z(1, 16, 1))[0])  # empty ends use their seeds
    assert_same_pixels(frames[-1], generate(G, sample_z(1, 16, 2))[0])
    for steps in (1, LIMITS.max_interp_steps + 1):
        with pytest.raises(ValueError):
            interpolate_tab.walk(studio, LOCAL_VISITOR, ckpt(studio), None, None, 1, 2, "linear", steps)
    with pytest.raises(StudioError):
        interpolate_tab.walk(studio, LOCAL_VISITOR, ckpt(studio), "0123456789abcdef", None, 1, 2, "linear", 3)


# ------------------------------------------------------------------------------------------------ arithmetic


def test_arithmetic_uses_the_averaged_z_of_each_slot(studio):
    samples, *_ = sample_tab.sample(studio, LOCAL_VISITOR, ckpt(studio), seed=9, count=7, truncation=0)
    a, b, c = samples[0:3], samples[3:5], samples[5:7]
    ids = [",".join(s.id for s in group) for group in (a, b, c)]
    z, images, result = arithmetic_tab.compute(
        studio, LOCAL_VISITOR, ckpt(studio), *ids, n_neighbours=5, scale=0.3, seed=1
    )
    expected = (
        torch.stack([s.z for s in a]).mean(0)
        - torch.stack([s.z for s in b]).mean(0)
        + torch.stack([s.z for s in c]).mean(0)
    )
    assert torch.allclose(z, expected, atol=1e-6)
    G = studio.models.get(LOCAL_VISITOR, ckpt(studio)).generator
    assert images.shape == (5, 1, 32, 32)
    # the result and its neighbours are G at z and at z + N(0, 0.3^2) noise (another batch size: equal up to rounding)
    zs = neighbours(expected, 5, 0.3, 1)
    assert (zs[1:] - zs[0]).std() == pytest.approx(0.3, rel=0.3)
    for shown, drawn in zip(images, generate(G, zs), strict=True):
        assert_same_pixels(shown, drawn)
    for i in range(1, 5):  # neighbours have noise: visibly other pictures, not rounding flips
        assert (images[i].float() - images[0].float()).abs().mean() > 1, i
    assert studio.samples.get(LOCAL_VISITOR, result.id) is result and torch.allclose(result.z, expected)
    assert torch.equal(result.image, images[0])  # the kept sample is the shown result itself


def test_arithmetic_refuses_empty_or_unknown_slots(studio):
    samples, *_ = sample_tab.sample(studio, LOCAL_VISITOR, ckpt(studio), seed=0, count=2, truncation=0)
    with pytest.raises(StudioError):
        arithmetic_tab.compute(studio, LOCAL_VISITOR, ckpt(studio), samples[0].id, "", samples[1].id, 4, 0.2, 0)
    with pytest.raises(StudioError):
        arithmetic_tab.compute(
            studio, LOCAL_VISITOR, ckpt(studio), samples[0].id, "feedfacefeedface", samples[1].id, 4, 0.2, 0
        )
    too_many = ",".join([samples[0].id] * (LIMITS.max_slot_items + 1))
    with pytest.raises(StudioError):
        arithmetic_tab.compute(studio, LOCAL_VISITOR, ckpt(studio), too_many, samples[0].id, samples[1].id, 4, 0.2, 0)


# ------------------------------------------------------------------------------------------------ project


def test_projection_registers_a_usable_sample(studio):
    G = studio.models.get(LOCAL_VISITOR, ckpt(studio)).generator
    target = generate(G, sample_z(1, 16, 42))[0]
    img = Image.fromarray(target[0].numpy()).resize((64, 48))  # not square, not the model's size
    calls = []
    tgt, sample, losses = project_tab.project(
        studio,
        LOCAL_VISITOR,
        ckpt(studio),
        img,
        steps=15,
        restarts=2,
        seed=0,
        progress=lambda i, n, loss: calls.append(i),
    )
    assert tgt.shape == (1, 32, 32) and sample.image.shape == (1, 32, 32)
    assert not_blank(tgt) and not_blank(sample.image)
    assert len(losses) == 15 and losses[-1] <= losses[0] and calls[-1] == 15
    assert all(math.isfinite(x) for x in losses) and calls == list(range(1, 16))
    assert studio.samples.get(LOCAL_VISITOR, sample.id) is sample and sample.nz == 16
    # the projected z works as an interpolation end
    frames, *_ = interpolate_tab.walk(studio, LOCAL_VISITOR, ckpt(studio), sample.id, None, 0, 3, "linear", 3)
    assert_same_pixels(frames[0], sample.image)  # drawn by another G copy in another batch: equal up to rounding
    with pytest.raises(ValueError):
        project_tab.project(studio, LOCAL_VISITOR, ckpt(studio), None, 10, 1, 0)
    with pytest.raises(ValueError):
        project_tab.project(studio, LOCAL_VISITOR, ckpt(studio), img, LIMITS.max_project_steps + 1, 1, 0)


# ------------------------------------------------------------------------------------------------ features


def test_feature_maps_of_every_layer(studio):
    samples, *_ = sample_tab.sample(studio, LOCAL_VISITOR, ckpt(studio), seed=2, count=1, truncation=0)
    out = features_tab.feature_maps(studio, LOCAL_VISITOR, ckpt(studio), samples[0].id, 0)
    assert len(out["g_layers"]) == 4 and len(out["d_layers"]) == 3  # 3 ReLU + Tanh; 3 LeakyReLU at 32 px
    for grid, caption in out["g_layers"] + out["d_layers"]:
        assert grid.dtype == torch.uint8 and grid.shape[0] == 3 and ":" in caption
        assert grid.shape[1] >= 32 and grid.shape[2] >= 32 and not_blank(grid), caption  # drawn maps, not a flat grid
    # the captions name each layer's shape: G widens 4 -> 32 px, D narrows 16 -> 4 px (ngf = ndf = 8)
    assert [c.split(": ")[1] for _, c in out["g_layers"]] == ["(32, 4, 4)", "(16, 8, 8)", "(8, 16, 16)", "(1, 32, 32)"]
    assert [c.split(": ")[1] for _, c in out["d_layers"]] == ["(8, 16, 16)", "(16, 8, 8)", "(32, 4, 4)"]
    assert out["filters"].dtype == torch.uint8 and out["filters"].shape[0] == 3 and not_blank(out["filters"])
    # the same z in a batch of 1 both times (the sample had count=1): the same kernels, so bitwise equal by design
    assert torch.equal(out["image"], samples[0].image)
    upload = Image.new("L", (50, 40), 200)
    out2 = features_tab.feature_maps(studio, LOCAL_VISITOR, ckpt(studio), None, 4, upload)
    assert out2["d_input"].shape == (1, 32, 32) and int(out2["d_input"].float().mean()) == 200
    assert bool((out2["d_input"] == 200).all())  # an integer (PIL) resize of a flat image: D sees it unchanged


def test_ablating_channels_changes_the_image_and_none_does_not(studio):
    samples, *_ = sample_tab.sample(studio, LOCAL_VISITOR, ckpt(studio), seed=7, count=1, truncation=0)
    before, after, _ = features_tab.ablate(studio, LOCAL_VISITOR, ckpt(studio), samples[0].id, 0, 0, "")
    assert torch.equal(before, after)  # nothing switched off: the same G on the same z in the same batch, bitwise
    assert torch.equal(before, samples[0].image) and not_blank(before)
    before, after, caption = features_tab.ablate(studio, LOCAL_VISITOR, ckpt(studio), samples[0].id, 0, 1, "0-7")
    change = float((before.float() - after.float()).abs().mean())
    assert change > 2 and "8 channel" in caption, change  # half of layer 1's 16 channels off: a visibly other picture
    assert f"mean pixel change {change:.2f}/255" in caption
    # the hook is gone afterwards (the same path as before: bitwise)
    G = studio.models.get(LOCAL_VISITOR, ckpt(studio)).generator
    assert torch.equal(generate(G, samples[0].z[None])[0], before)
    with pytest.raises(ValueError):
        features_tab.ablate(studio, LOCAL_VISITOR, ckpt(studio), samples[0].id, 0, 9, "0")
    with pytest.raises(ValueError):
        features_tab.ablate(studio, LOCAL_VISITOR, ckpt(studio), samples[0].id, 0, 0, "999")


def test_parse_channels():
    assert features_tab.parse_channels("0-3, 7;9") == [0, 1, 2, 3, 7, 9]
    assert features_tab.parse_channels(" ") == []
    for bad in ("a", "5-2", f"0-{LIMITS.max_ablate_channels + 5}"):
        with pytest.raises(StudioError):
            features_tab.parse_channels(bad)


# ------------------------------------------------------------------------------------------------ train


FORM = dict(
    dataset="digits",
    zip_file=None,
    folder=None,
    image_size=32,
    channels=1,
    nz=16,
    ngf=8,
    ndf=8,
    batch_size=64,
    lr=2e-4,
    beta1=0.5,
    epochs=1,
    max_steps=4,
    seed=0,
    log_every=2,
    sample_every=2,
)


def test_train_form_validation(studio):
    model, train = train_tab.build_configs(studio, **FORM)
    assert (model.ngf, train.max_steps, train.dataset) == (8, 4, "digits")
    assert train_tab.build_configs(studio, **(FORM | dict(max_steps=0)))[1].max_steps is None
    # the form's widgets (and API clients) send image size and channels as the strings view_api documents
    assert train_tab.build_configs(studio, **(FORM | dict(image_size="32", channels="1")))[0] == model
    wide = train_tab.build_configs(studio, **(FORM | dict(image_size="64", channels="3")))[0]
    assert (wide.image_size, wide.channels) == (64, 3) and type(wide.image_size) is int and type(wide.channels) is int
    for bad in (
        dict(batch_size=LIMITS.max_batch + 1),
        dict(ngf=LIMITS.max_width + 1),
        dict(image_size=48),
        dict(dataset="imagenet"),
        dict(dataset=train_tab.ZIP_CHOICE),
        dict(lr=5.0),
        dict(epochs=0),
        dict(image_size="48"),
        dict(image_size="32.5"),
        dict(image_size="big"),
        dict(channels="2"),
        dict(channels=2),
    ):
        with pytest.raises(ValueError):
            train_tab.build_configs(studio, **(FORM | bad))


def test_train_form_advanced_fields_reach_the_typed_config(studio):
    model, train = train_tab.build_configs(studio, *FORM.values())  # the first 16 by position: defaults for the rest
    assert (train.stability.label_smoothing, train.stability.nan_policy, train.lr_g, train.lr_d) == (
        0.0,
        "stop",
        None,
        None,
    )
    assert train.speed.amp is None  # "default": the device's choice
    _, train = train_tab.build_configs(
        studio,
        **(FORM | dict(label_smoothing=0.1, instance_noise=0.05, nan_policy="rollback", amp="off", lr_g=1e-3, lr_d=0)),
    )
    assert (train.stability.label_smoothing, train.stability.instance_noise, train.stability.nan_policy) == (
        0.1,
        0.05,
        "rollback",
    )
    assert (train.speed.amp, train.lr_g, train.lr_d) == ("off", 1e-3, None)
    for bad in (
        dict(label_smoothing=0.5),
        dict(instance_noise=-1),
        dict(nan_policy="ignore"),
        dict(amp="fp8"),
        dict(lr_g=5.0),
        dict(lr_d=1e-9),
        dict(label_smoothing=float("nan")),
    ):
        with pytest.raises(ValueError):
            train_tab.build_configs(studio, **(FORM | bad))


def test_train_form_widgets_receive_only_their_own_choices(contrast_checkpoint, tmp_path):
    """Image size and Channels hold string values; whatever the server puts into them (a preset) must be one of
    those strings, or Gradio refuses the form when it is sent ("Value: 64 is not in the list of choices")."""
    from dcgan_studio.app import build_app

    demo = build_app(shipped=contrast_checkpoint, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data")
    widgets = {b.label: b for b in demo.blocks.values() if isinstance(b, (gr.Dropdown, gr.Radio))}
    choices = {
        "image_size": [v for _, v in widgets["Image size"].choices],
        "channels": [v for _, v in widgets["Channels"].choices],
    }
    assert choices == {"image_size": [str(s) for s in LIMITS.image_sizes], "channels": ["1", "3"]}
    assert widgets["Image size"].value in choices["image_size"] and widgets["Channels"].value in choices["channels"]
    for name in getattr(train_tab, "PRESETS", {}):  # the Train tab's presets fill the form
        values = train_tab.preset_values(name, LIMITS)
        for field in set(choices) & set(values):
            assert values[field] in choices[field], (name, field, values[field])


def test_dataset_choices_offer_only_torchvision_sets_on_disk(studio):
    assert "mnist" not in train_tab.dataset_choices(studio)
    (studio.data_dir / "MNIST" / "raw").mkdir(parents=True)
    assert "mnist" in train_tab.dataset_choices(studio)


def test_train_job_runs_reattaches_and_resumes(studio):
    studio.jobs = JobRegistry(studio.limits)
    assert "No training run" in train_tab.view(studio, LOCAL_VISITOR)["status"]
    with pytest.raises(StudioError):
        train_tab.control(studio, LOCAL_VISITOR, "pause")
    train_tab.start(studio, LOCAL_VISITOR, *FORM.values())
    with pytest.raises(StudioError):  # one job at a time
        train_tab.start(studio, LOCAL_VISITOR, *FORM.values())
    trainer = studio.jobs.current(LOCAL_VISITOR)
    assert trainer.join(120)
    v = train_tab.view(studio, LOCAL_VISITOR)
    assert v["state"] == "finished" and v["step"] == 4
    assert (
        train_tab.form_values(studio, LOCAL_VISITOR)["ngf"] == 8
        and train_tab.form_values(studio, LOCAL_VISITOR)["max_steps"] == 4
    )
    assert {k: train_tab.form_values(studio, LOCAL_VISITOR)[k] for k in ("nan_policy", "amp", "lr_g")} == {
        "nan_policy": "stop",
        "amp": "default",
        "lr_g": 0.0,
    }
    # a re-attached page gets the widgets' own (string) values back
    assert (
        train_tab.form_values(studio, LOCAL_VISITOR)["image_size"],
        train_tab.form_values(studio, LOCAL_VISITOR)["channels"],
    ) == ("32", "1")
    drawn = v["losses"].dropna()  # each frame also names every series once, with no value (the plot's colour domain)
    assert set(drawn["series"]) == {"Loss_D", "Loss_G", "Loss_D (raw)", "Loss_G (raw)"}  # smoothed and raw
    assert len(v["d_outputs"].dropna()) == 3 * 4 * 2  # 3 series x 4 steps, smoothed and raw
    assert v["files"] and any(f.endswith("generator.safetensors") for f in v["files"])
    assert all(Path(f).is_file() and Path(f).stat().st_size > 0 for f in v["files"])
    # the page's grid shows the run's latest fixed-noise samples, pixel for pixel
    v["grid"].save(studio.runs_dir / "shown_grid.png")
    assert_grid_shows(studio.runs_dir / "shown_grid.png", trainer.snapshot()["latest_grid"])
    assert str(studio.runs_dir) in v["status"]
    # the finished run is offered to the other tabs, and its checkpoint can be resumed
    choices = [p for _, p in studio.models.choices(LOCAL_VISITOR)]
    assert any(p.endswith("generator.safetensors") for p in choices)
    step_ckpt = studio.models.training_checkpoints(LOCAL_VISITOR)[0][1]
    msg = train_tab.resume_from(studio, LOCAL_VISITOR, step_ckpt, epochs=1, max_steps=6)
    assert "from step 4" in msg
    assert studio.jobs.current(LOCAL_VISITOR).join(120)
    assert train_tab.view(studio, LOCAL_VISITOR)["step"] == 6
    with pytest.raises(StudioError):
        train_tab.resume_from(studio, LOCAL_VISITOR, "/etc/passwd", 1, 6)


def test_curves_are_thinned():
    history = [{"step": i, "loss_d": 1.0, "loss_g": 2.0} for i in range(1, 5001)]
    df = train_tab.curves(history, train_tab.LOSS_KEYS)
    per_series = df[df.series == "Loss_D"].dropna()
    assert len(per_series) <= LIMITS.plot_max_points + 1 and per_series.step.iloc[-1] == 5000


# ------------------------------------------------------------------------------------------------ launch


def test_launch_address_honours_spaces_env():
    import launch

    args = launch.parse_args(["--host", "::1", "--port", "9000"])
    assert (args.host, args.port) == ("::1", 9000)
    assert server_address(None, None, {}) == ("127.0.0.1", 7860)
    assert server_address(None, None, {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7861"}) == (
        "0.0.0.0",
        7861,
    )
    assert server_address("::1", 9000, {"GRADIO_SERVER_PORT": "1"}) == ("::1", 9000)


def test_opening_checkpoint_falls_back_to_the_installed_copy(tmp_path, monkeypatch):
    from dcgan_studio.app import serve as serve_module
    from dcgan_studio.shipped import shipped_generator

    monkeypatch.chdir(ROOT)
    assert opening_checkpoint(None, {}) == settings.SHIPPED_CHECKPOINT  # in a checkout: checkpoints/ of the folder
    monkeypatch.chdir(tmp_path)  # any other folder (an installed package): the package's own copy
    assert opening_checkpoint(None, {}) == shipped_generator() and shipped_generator().is_file()
    other = tmp_path / "mine.safetensors"
    other.write_bytes((ROOT / settings.SHIPPED_CHECKPOINT).read_bytes())
    assert opening_checkpoint(None, {"DCGAN_STUDIO_CHECKPOINT": str(other)}) == other
    assert serve_module.opening_checkpoint(str(other), {"DCGAN_STUDIO_CHECKPOINT": "x/y"}) == other  # the flag wins


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_studio_command_starts_the_same_studio(tmp_path, monkeypatch):
    """``dcgan-studio studio --public --runs-dir`` from another folder: the shipped generator, public limits."""
    from dcgan_studio.cli import build_parser

    args = build_parser().parse_args(["studio", "--public", "--port", "9", "--runs-dir", "r"])
    assert (args.public, args.port, args.runs_dir, args.checkpoint) == (True, 9, "r", None)
    monkeypatch.chdir(tmp_path)
    demo = serve("127.0.0.1", free_port(), public=True, runs_dir=tmp_path / "runs", block=False)
    try:
        assert demo.studio.limits.public and demo.studio.runs_dir == tmp_path / "runs"
        assert demo.studio.models.shipped.resolve() == (ROOT / settings.SHIPPED_CHECKPOINT).resolve()
    finally:
        demo.warm_up.join(timeout=60)  # a thread still loading torch at exit would abort the interpreter
        demo.close()


# ------------------------------------------------------------------------------------------------ the first screen


def test_first_screen_is_seed_0_in_the_grid_and_the_pool_and_made_once(studio):
    grid_path, files, ids, pool = sample_tab.first_screen(studio, LOCAL_VISITOR, ckpt(studio), ["older"])
    n = sample_tab.FIRST_COUNT
    assert n == 24 and len(pool) == n + 1 and pool[-1] == "older"  # the page load's samples first, newest first
    samples = [studio.samples.get(LOCAL_VISITOR, sid) for sid in pool[:n]]
    assert all(s is not None for s in samples) and ids.split(",") == pool[:n]  # real server samples, in the pool
    G = studio.models.get(LOCAL_VISITOR, ckpt(studio)).generator
    expected = generate(G, sample_z(n, 16, sample_tab.FIRST_SEED))
    assert sample_tab.FIRST_SEED == 0 and torch.equal(torch.stack([s.image for s in samples]), expected)
    # a 6 x 4 grid of 32 px images (2 px padding): 206 x 138, enlarged 3x (nearest neighbour) to >= 512 px
    with Image.open(grid_path) as grid:
        assert grid.size == (618, 414)
        assert grid.getextrema() != ((0, 0), (0, 0), (0, 0))
    assert files == [grid_path, files[1]] and load_file(files[1])["z"].shape == (n, 16)
    # a reload (and a second visitor) gets the same samples and files: nothing new is made
    made = len(studio.samples)
    again = sample_tab.first_screen(studio, LOCAL_VISITOR, ckpt(studio), [])
    assert again[0] == grid_path and again[3] == pool[:n] and len(studio.samples) == made
    # ...unless the registry forgot them: then they are made again
    studio.samples._items.pop(pool[0])
    remade = sample_tab.first_screen(studio, LOCAL_VISITOR, ckpt(studio), [])
    assert remade[3][0] != pool[0] and studio.samples.get(LOCAL_VISITOR, remade[3][0]) is not None


def test_first_screen_needs_a_checkpoint(tmp_path):
    from dcgan_studio.app.errors import USER_ERRORS
    from dcgan_studio.app.studio import make_studio

    empty = make_studio(shipped=None, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data")
    with pytest.raises(USER_ERRORS):  # the page-load handler catches these and leaves the page as it is
        sample_tab.first_screen(empty, LOCAL_VISITOR, empty.models.default(LOCAL_VISITOR), [])


def test_sample_grid_has_no_empty_cells():
    assert [sample_tab.grid_columns(n) for n in (1, 4, 10, 16, 24, 64, 7)] == [1, 2, 5, 4, 6, 8, 3]
    samples_16 = torch.zeros(16, 1, 32, 32, dtype=torch.uint8)
    from dcgan_studio.app.common import grid_pil

    assert grid_pil(samples_16, nrow=sample_tab.grid_columns(16), min_side=512).size == (552, 552)  # 138 px x 4


def test_first_walk_is_seed_0_to_seed_1_and_made_once(studio):
    strip, gif, caption = interpolate_tab.first_walk(studio, LOCAL_VISITOR, ckpt(studio))
    assert caption == "seed 0 → seed 1, 10 steps, slerp"
    with Image.open(strip) as im:
        assert im.size == ((10 * 34 + 2) * 3, 36 * 3)  # 10 frames of 32 px in a row, enlarged 3x
    with Image.open(gif) as g:
        assert g.is_animated and g.size == (192, 192)
    frames, *_ = interpolate_tab.walk(studio, LOCAL_VISITOR, ckpt(studio), None, None, 0, 1, "spherical (slerp)", 10)
    G = studio.models.get(LOCAL_VISITOR, ckpt(studio)).generator
    # the ends are seeds 0 and 1 (a batch of 10 here, of 1 there: equal up to rounding, see assert_same_pixels)
    assert_same_pixels(frames[0], generate(G, sample_z(1, 16, 0))[0])
    assert_same_pixels(frames[-1], generate(G, sample_z(1, 16, 1))[0])
    assert interpolate_tab.first_walk(studio, LOCAL_VISITOR, ckpt(studio)) == (strip, gif, caption)


def test_first_feature_maps_show_seed_0_and_a_visible_ablation(studio):
    out = features_tab.first_maps(studio, LOCAL_VISITOR, ckpt(studio))
    caption, drawn, filters, g_items, d_items, before, after, ablate_text, stage, channels = out
    G = studio.models.get(LOCAL_VISITOR, ckpt(studio)).generator
    seed0 = generate(G, sample_z(1, 16, 0))[0]
    assert caption == "**seed 0**"
    assert (
        drawn.size == (192, 192)
        and np.asarray(drawn.resize((32, 32), Image.NEAREST)).ravel().tolist() == seed0[0].flatten().tolist()
    )
    assert len(g_items) == 4 and len(d_items) == 3 and filters.size[0] >= 256
    assert all(min(img.size) >= 256 for img, _ in g_items + d_items)
    # half of G layer 1's 16 channels off; the page's layer and channel fields say so, and the picture changes
    assert (str(stage), channels) == ("1", "0-7") and "8 channel(s) of G layer 1 off" in ablate_text
    assert before.size == after.size == (224, 224) and not np.array_equal(np.asarray(before), np.asarray(after))
    assert features_tab.first_maps(studio, LOCAL_VISITOR, ckpt(studio)) is out  # a reload computes nothing again


@pytest.mark.parametrize("image_size", [32, 64, 128])
def test_layer_widths_from_the_header_match_the_built_generator(image_size):
    """The ablation layer list is read from the checkpoint's header (no weights loaded while the page is built)."""
    from dcgan_studio.app.features_tab import config_stage_widths, stage_widths
    from dcgan_studio.config import ModelConfig
    from dcgan_studio.models import build_models

    config = ModelConfig(image_size=image_size, channels=1, nz=16, ngf=8, ndf=8)
    generator, _ = build_models(config)
    assert config_stage_widths(config) == stage_widths(generator)

"""What the Train tab hands its plots and form: typed frames with every series, TensorBoard smoothing, presets."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("gradio")

from dcgan_studio.app import train_form, train_tab  # noqa: E402
from dcgan_studio.app.settings import Limits  # noqa: E402
from dcgan_studio.plots import smooth_ema  # noqa: E402
from dcgan_studio.presets import DEFAULT_PRESET, PRESETS  # noqa: E402


def history(n: int) -> list[dict]:
    return [
        {"step": i + 1, "loss_d": 1.0 + (i % 2), "loss_g": 2.0, "d_x": 0.75, "d_g_z1": 0.25, "d_g_z2": 0.5}
        for i in range(n)
    ]


def test_an_empty_frame_is_typed_and_names_every_series():
    """gr.LinePlot fixes its axis scales and colour domain from the first frame: an empty run must already say
    'numbers on both axes' and list every series, with nothing drawn (NaN values)."""
    df = train_tab.curves([], train_tab.LOSS_KEYS, smoothing=0.6)
    assert str(df["step"].dtype) == "int64" and str(df["value"].dtype) == "float64"
    assert df["series"].map(type).eq(str).all()
    assert set(df["series"]) == {"Loss_D", "Loss_D (raw)", "Loss_G", "Loss_G (raw)"}
    assert df["value"].isna().all()


@pytest.mark.parametrize("smoothing", [0.0, 0.6])
def test_every_frame_keeps_the_same_series_whatever_the_smoothing(smoothing):
    names = set(train_tab.curves([], train_tab.D_KEYS)["series"])
    df = train_tab.curves(history(30), train_tab.D_KEYS, smoothing)
    assert set(df["series"]) == names
    drawn = df.dropna()
    assert set(drawn["series"]) == (
        {"D(x)", "D(G(z)) before D step", "D(G(z)) after D step"}
        | ({"D(x) (raw)", "D(G(z)) before D step (raw)", "D(G(z)) after D step (raw)"} if smoothing else set())
    )
    assert drawn.groupby("series").size().eq(30).all()  # one point per step of each drawn series


def test_smoothing_is_tensorboards_debiased_moving_average():
    assert smooth_ema([1.0, 3.0], 0.5) == pytest.approx([1.0, (0.25 + 1.5) / 0.75])  # 0.5*0.5*1 + 0.5*3, debiased
    assert smooth_ema([4.0] * 10, 0.9) == pytest.approx([4.0] * 10)  # debiasing: no pull towards 0 at the start
    assert smooth_ema([1.0, 5.0, 2.0], 0.0) == pytest.approx([1.0, 5.0, 2.0])
    with pytest.raises(ValueError, match="smoothing"):
        smooth_ema([1.0], 1.0)


def test_smoothing_runs_over_every_step_before_thinning():
    n = Limits().plot_max_points * 3
    h = history(n)
    df = train_tab.curves(h, train_tab.LOSS_KEYS, smoothing=0.9).dropna()
    raw = df[df.series == "Loss_D (raw)"]
    smooth = df[df.series == "Loss_D"]
    assert len(raw) <= Limits().plot_max_points + 1 and raw["step"].iloc[-1] == n
    # the raw values alternate 1, 2; thinned by 3 the kept raw points alternate too, the smoothed ones sit near 1.5
    assert smooth["value"].iloc[-1] == pytest.approx(1.5, abs=0.1)
    assert not math.isclose(smooth["value"].iloc[-1], raw["value"].iloc[-1], abs_tol=0.3)


LOCAL, PUBLIC = Limits.for_mode(False, env={}), Limits.for_mode(True, env={})  # public: 10-min jobs, 2 at once


def test_the_default_preset_is_the_shipped_recipe_and_the_paper_preset_is_64x64():
    assert DEFAULT_PRESET == "quick"
    quick = train_tab.preset_values("quick", LOCAL)
    assert (quick["ngf"], quick["ndf"], quick["batch_size"], quick["image_size"]) == (32, 32, 128, "32")
    assert quick["epochs"] == 60  # 14 batches of 128 per epoch of the 1,797 digits: the shipped recipe's 840 steps
    paper = PRESETS["paper64"].form()
    assert (paper["image_size"], paper["ngf"], paper["ndf"], paper["nz"], paper["batch_size"]) == (64, 64, 64, 100, 128)
    assert paper["lr"] == pytest.approx(2e-4) and paper["beta1"] == pytest.approx(0.5)
    with pytest.raises(train_tab.StudioError, match="preset must be one of quick, paper64"):
        train_tab.preset_values("nope", LOCAL)


def test_a_public_studio_shows_each_preset_within_its_caps_and_time_limit():
    """The quick recipe fits a public Space unchanged; the paper's 64x64 (1.3 s a step on 2 cores) is shortened so
    that its steps fit half the 10-minute job limit (two jobs share the cores): 300 s / 1.3 s = 230 steps = 16
    epochs of 14 steps, and the form says why."""
    quick = train_form.fit_preset("quick", PUBLIC)
    assert quick.values == train_tab.preset_values("quick", LOCAL) and quick.notes == ()
    paper = train_form.fit_preset("paper64", PUBLIC)
    assert paper.values["epochs"] == 16 and (paper.values["ngf"], paper.values["image_size"]) == (64, "64")
    assert paper.notes == ("epochs 25 → 16 (jobs here stop after 10 min)",)
    assert train_form.fit_preset("paper64", LOCAL).values["epochs"] == 25  # no time limit locally


def test_a_preset_beyond_the_caps_is_brought_within_them_with_the_reason():
    tight = Limits(image_sizes=(32,), max_width=16, max_batch=64, max_epochs=5)
    fitted = train_form.fit_preset("paper64", tight)
    assert {k: fitted.values[k] for k in ("image_size", "ngf", "ndf", "batch_size", "epochs")} == {
        "image_size": "32",
        "ngf": 16,
        "ndf": 16,
        "batch_size": 64,
        "epochs": 5,
    }
    assert "image size 64 → 32 (this server's limit)" in fitted.notes and "epochs 25 → 5 (this server's limit)" in (
        fitted.notes
    )


@pytest.mark.parametrize("limits", [LOCAL, PUBLIC], ids=["local", "public"])
@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_passes_build_configs_unedited(studio, limits, preset):
    """What the page shows after picking a preset (its values, the untouched dataset, channels, seed and max
    steps) is accepted by the server's own checks in that mode."""
    studio.limits = limits
    page = train_form.initial_values(limits) | dict(zip_file=None, folder="")  # the upload and folder start empty
    form = page | train_form.preset_values(preset, limits)
    model, train = train_tab.build_configs(studio, **form)
    assert (model.ngf, train.epochs, train.dataset) == (int(form["ngf"]), int(form["epochs"]), "digits")

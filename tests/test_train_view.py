"""What the Train tab hands its plots and form: typed frames with every series, TensorBoard smoothing, presets."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("gradio")

from dcgan_studio.app import train_tab  # noqa: E402
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


def test_the_default_preset_is_the_shipped_recipe_and_the_paper_preset_is_64x64():
    assert DEFAULT_PRESET == "quick"
    quick = train_tab.preset_values("quick")
    assert (quick["ngf"], quick["ndf"], quick["batch_size"], quick["image_size"]) == (32, 32, 128, "32")
    assert quick["epochs"] * 14 >= 840  # 14 batches of 128 per epoch of the 1,797 digits: the shipped 840 steps
    paper = PRESETS["paper64"].form()
    assert (paper["image_size"], paper["ngf"], paper["ndf"], paper["nz"], paper["batch_size"]) == (64, 64, 64, 100, 128)
    assert paper["lr"] == pytest.approx(2e-4) and paper["beta1"] == pytest.approx(0.5)
    with pytest.raises(train_tab.StudioError, match="preset"):
        train_tab.preset_values("nope")

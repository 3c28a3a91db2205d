"""Every value the page starts with is one the server takes, in a local Studio and in a public one (a Space): a
widget's starting value lies within its own bounds or choices. The bounds are the server's checks (settings.Limits),
so a default outside them is a form that cannot be sent unedited."""

from __future__ import annotations

import pytest

gr = pytest.importorskip("gradio")


@pytest.fixture(scope="module", params=[False, True], ids=["local", "public"])
def demo(request, tiny_models_checkpoint, tmp_path_factory):
    from dcgan_studio.app import build_app

    root = tmp_path_factory.mktemp("page_defaults")
    return build_app(
        shipped=tiny_models_checkpoint, runs_dir=root / "runs", data_dir=root / "data", public=request.param
    )


def widgets(demo) -> list:
    return [b for b in demo.blocks.values() if isinstance(b, gr.components.Component)]


def test_every_number_and_slider_starts_within_its_bounds(demo):
    checked = 0
    for w in widgets(demo):
        if not isinstance(w, (gr.Number, gr.Slider)) or w.value is None:
            continue
        lo, hi = getattr(w, "minimum", None), getattr(w, "maximum", None)
        assert lo is None or w.value >= lo, (w.label, w.value, lo)
        assert hi is None or w.value <= hi, (w.label, w.value, hi)
        checked += 1
    assert checked >= 25  # the Train form alone has 16 numbers; Sample, Interpolate, Arithmetic, Project sliders...


def test_every_choice_starts_on_one_of_its_choices(demo):
    checked = 0
    for w in widgets(demo):
        if not isinstance(w, (gr.Dropdown, gr.Radio)) or getattr(w, "allow_custom_value", False):
            continue
        values = [v for _, v in w.choices]
        chosen = w.value if isinstance(w.value, list) else [w.value]
        assert all(v in values for v in chosen if v not in (None, "")), (w.label, w.value, values)
        checked += 1
    assert checked >= 8  # image size, channels, dataset, preset, precision, NaN policy, DiffAugment, decay, ...


def test_the_public_train_form_is_the_quick_recipe_within_the_public_caps(demo):
    """The numbers a visitor sees before touching anything (written out: the quick recipe fits a Space)."""
    shown = {w.elem_id or w.label: w.value for w in widgets(demo) if isinstance(w, (gr.Number, gr.Slider))}
    assert (shown["Epochs"], shown["Batch size"], shown["ngf (G width)"], shown["ndf (D width)"]) == (60, 128, 32, 32)
    epochs = next(w for w in widgets(demo) if getattr(w, "label", None) == "Epochs")
    assert epochs.maximum == (100 if demo.studio.public else 10_000)

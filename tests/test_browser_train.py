"""The Train tab in a real browser, checked by what it draws: numeric axes and lines in both plots, a large grid that
changes while training, a status whose step advances, for a fresh page, a reloaded page that re-attaches to the
running job, a stopped run (with its downloads) and a run resumed from its checkpoint. And as a visitor of a Space
(public mode) who presses Start without touching the form, with each preset."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from browser_kit import (  # noqa: F401
    NEEDS_CHROMIUM,
    TIMEOUT_MS,
    drawn_pixels,
    image_info,
    page,
    plot_axes,
    plot_legend,
    plot_lines,
    set_number,
    shot,
    status_step,
)

from dcgan_studio.app.visitors import LOCAL_VISITOR

pytestmark = [NEEDS_CHROMIUM, pytest.mark.slow]  # a real browser: ~20 s a test on 2 cores

GRID_MIN_WIDTH = 512
# how many lines of a plot have points (series without data are drawn as empty paths)
LINES_DRAWN = (
    "(id => [...document.querySelectorAll(`#${id} g.mark-line path`)]"
    ".filter(p => /L/.test(p.getAttribute('d') || '')).length)"
)  # the issue: "shown large and crisp (nearest-neighbour upscaling, at least 512 px wide)"


def wait_step_above(pg, step: int) -> None:
    pg.wait_for_function(
        "(s) => { const m = /step (\\d+)\\//.exec((document.querySelector('#train-status') || {}).innerText || '');"
        " return m && +m[1] > s; }",
        arg=step,
    )


def wait_plot_points(pg, plot_id: str, n: int) -> None:
    """Until the plot's longest line has at least ``n`` points (it redraws as the run goes on)."""
    pg.wait_for_function(
        """([id, n]) => [...document.querySelectorAll(`#${id} g.mark-line path`)]
               .some(p => ((p.getAttribute('d') || '').match(/[ML]/g) || []).length >= n)""",
        arg=[plot_id, n],
    )


def assert_plots_draw(pg, min_points: int, when: str) -> None:
    """Both plots: every axis on a linear scale (never discrete), one line per series with many points, a legend;
    the D-output plot's y axis spans [0, 1]."""
    for plot_id, series in (("loss-plot", {"Loss_D", "Loss_G"}), ("d-plot", {"D(x)", "D(G(z)) before D step"})):
        wait_plot_points(pg, plot_id, min_points)
        axes = plot_axes(pg, plot_id)
        assert len(axes) >= 2, f"{when}: {plot_id} has axes {axes}"
        assert all("linear scale" in a for a in axes) and not any("discrete" in a for a in axes), f"{when}: {axes}"
        lines = plot_lines(pg, plot_id)
        assert len(lines) >= len(series), f"{when}: {plot_id} draws {len(lines)} lines"
        assert min(lines) >= min_points, f"{when}: {plot_id} line points {lines}"
        legend = set(plot_legend(pg, plot_id))
        assert series <= legend, f"{when}: {plot_id} legend {legend}"
    y_axis = [a for a in plot_axes(pg, "d-plot") if a.startswith("Y")][0]
    assert re.search(r"from 0(\.0)? to 1(\.0)?$", y_axis), y_axis


def assert_grid_large(pg) -> dict:
    info = image_info(pg, "#train-grid img")
    assert info is not None, "no grid image"
    assert info["width"] >= GRID_MIN_WIDTH and info["width"] == info["height"], info  # 8x8 square grid
    assert info["spread"] > 0, "the grid is blank"
    return info


def controls(pg) -> tuple[bool, bool, bool]:
    """Whether Pause, Resume and Stop can be pressed, as the page draws them."""
    return tuple(pg.locator(f"#train-{name}").is_enabled() for name in ("pause", "resume", "stop"))


def wait_controls(pg, expected: tuple[bool, bool, bool]) -> None:
    js = "([p, r, s]) => ['pause', 'resume', 'stop'].every((n, i) => !document.querySelector('#train-' + n).disabled"
    pg.wait_for_function(js + " === [p, r, s][i])", arg=list(expected))


def test_train_live_plots_grid_reattach_stop_resume(page, running_studio, tmp_path):  # noqa: F811 - a fixture
    demo, _, _ = running_studio
    pg = page
    assert controls(pg) == (False, False, False)  # nothing runs: Pause, Resume and Stop do not apply
    # the default preset fills the form with the shipped recipe (the first run a visitor makes shows digits)
    assert pg.get_by_label("ngf (G width)", exact=True).input_value() == "32"
    assert pg.get_by_label("Epochs", exact=True).input_value() == "60"
    for label, value in (
        ("ngf (G width)", 8),
        ("ndf (D width)", 8),
        ("nz", 16),
        ("Max steps (0 = all)", 3000),
    ):
        set_number(pg, label, value)
    pg.get_by_text("Logging").click()
    set_number(pg, "Log every (steps)", 2)
    set_number(pg, "Grid every (steps, 0 = each epoch)", 4)
    pg.locator("#train-start").click()
    pg.wait_for_function("() => /running/.test(document.querySelector('#train-status').innerText)")
    wait_step_above(pg, 0)
    wait_controls(pg, (True, False, True))  # running: Pause and Stop

    # the page keeps updating by itself (the timer): three more steps shown without any action; the gaps between
    # updates are a figure (printed), not a check, since a shared 2-core machine can stall any timer
    steps, gaps = [status_step(pg)], []
    for _ in range(3):
        started = pg.evaluate("performance.now()")
        wait_step_above(pg, steps[-1])
        gaps.append(round(pg.evaluate("performance.now()") - started))
        steps.append(status_step(pg))
    assert steps == sorted(set(steps)), steps
    print(f"status update gaps (ms): {gaps}")
    (tmp_path / "timer_gaps_ms.json").write_text(json.dumps(gaps))

    # a fresh page, first frame empty, then numbers: the axes must be linear and the lines drawn
    assert_plots_draw(pg, 5, "fresh page")
    first = assert_grid_large(pg)
    pg.wait_for_function(
        "(src) => { const i = document.querySelector('#train-grid img'); return i && i.src !== src; }", arg=first["src"]
    )
    second = assert_grid_large(pg)
    assert second["src"] != first["src"] and second["sum"] != first["sum"]  # the grid's pixels change while training
    assert "Loss_D" in pg.locator("#train-log textarea").input_value()
    shot(pg, tmp_path, "01_training")

    # smoothing off: only the raw series are drawn; on again: each series has a smoothed line and a raw one
    smooth = pg.locator("#train-smoothing input[type=number]")
    smooth.fill("0")
    smooth.press("Enter")
    pg.wait_for_function(f"() => {LINES_DRAWN}('loss-plot') === 2")
    assert plot_legend(pg, "loss-plot") == ["Loss_D", "Loss_G"]
    smooth.fill("0.8")
    smooth.press("Enter")
    pg.wait_for_function(f"() => {LINES_DRAWN}('loss-plot') === 4")
    assert plot_legend(pg, "loss-plot") == ["Loss_D", "Loss_G"]  # the pale raw lines have no legend entry

    # reload mid-run: the page re-attaches to the same job and draws the plots from its first frame
    before = status_step(pg)
    pg.reload()
    pg.wait_for_function("() => /running/.test((document.querySelector('#train-status')||{}).innerText || '')")
    wait_step_above(pg, before)
    assert demo.studio.jobs.current(LOCAL_VISITOR).is_alive
    assert pg.get_by_label("ngf (G width)", exact=True).input_value() == "8"  # the form shows the re-attached run
    assert_plots_draw(pg, 5, "reloaded page")
    assert_grid_large(pg)
    shot(pg, tmp_path, "02_reattached")

    pg.locator("#train-pause").click()
    pg.wait_for_function("() => /paused/.test(document.querySelector('#train-status').innerText)")
    wait_controls(pg, (False, True, True))  # paused: Resume and Stop
    paused_at = status_step(pg)
    pg.locator("#train-stop").click()
    pg.wait_for_function("() => /stopped/.test(document.querySelector('#train-status').innerText)")
    pg.wait_for_function("() => /generator/.test(document.querySelector('#train-files').innerText)")
    files = pg.locator("#train-files").inner_text().replace("\n.", ".")  # the name and its suffix are two lines
    assert all(f in files for f in ("generator.safetensors", "timelapse.gif", "training.png")), files
    assert_plots_draw(pg, 5, "stopped run")
    stopped_at = status_step(pg)
    assert stopped_at >= paused_at
    wait_controls(pg, (False, False, False))  # ended: none of them
    shot(pg, tmp_path, "03_stopped")

    # resume from the run's checkpoint: the plots keep the earlier steps and go on drawing
    pg.get_by_text("Resume from checkpoint").first.click()
    picker = pg.locator("#train-resume-ckpt input")
    picker.click()
    pg.get_by_role("option").first.click()
    pg.locator("#train-resume-from").click()
    pg.wait_for_function("() => /running/.test(document.querySelector('#train-status').innerText)")
    wait_step_above(pg, stopped_at + 4)
    assert_plots_draw(pg, 5, "resumed run")
    # the resumed run's loss line starts at the first steps of the run, not at the resume point
    assert_grid_large(pg)
    shot(pg, tmp_path, "04_resumed")
    pg.locator("#train-stop").click()
    pg.wait_for_function("() => /stopped/.test(document.querySelector('#train-status').innerText)")
    assert_plots_draw(pg, 5, "stopped after resume")


# ------------------------------------------------------------------------------------------------ a Space's visitor


@pytest.fixture(scope="module")
def public_studio(tiny_models_checkpoint, tmp_path_factory):
    """The Studio in public mode (what a Hugging Face Space runs), on 127.0.0.1: (demo, url)."""
    from dcgan_studio.app import build_app, launch_options

    root = tmp_path_factory.mktemp("public_studio")
    demo = build_app(shipped=tiny_models_checkpoint, runs_dir=root / "runs", data_dir=root / "data", public=True)
    demo.queue(default_concurrency_limit=1)
    options = launch_options(demo.studio.limits)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **options)
    try:
        yield demo, url
    finally:
        demo.studio.jobs.stop_and_wait(60)
        demo.close()


@pytest.mark.parametrize("preset", ["quick", "paper64"])
def test_a_space_visitor_starts_each_preset_without_touching_the_form(browser, public_studio, preset, tmp_path):  # noqa: F811
    """A fresh page, a preset picked from the dropdown (or left as it opens), Start: the run is running, its step
    advances and both plots draw lines on numeric axes. The form is never edited."""
    demo, url = public_studio
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS * 2)  # the paper's 64x64 takes over a second a step on 2 cores
    try:
        pg.goto(url)
        pg.get_by_text("DCGAN Studio").first.wait_for()
        pg.wait_for_function(
            "() => /No training run/.test((document.querySelector('#train-status') || {}).innerText || '')"
        )
        if preset != "quick":  # the page opens on the quick preset; pick the other one as a visitor would
            pg.locator("#train-preset input").click()
            pg.get_by_role("option", name=re.compile("The paper's 64x64")).click()
            pg.wait_for_function(
                "() => ((document.querySelector('#train-message') || {}).innerText || '').includes('adapted')"
            )
            assert "epochs 25 → 16" in pg.locator("#train-message").inner_text()  # why the form differs
        expected = {"quick": ("32", "60"), "paper64": ("64", "16")}[preset]
        pg.wait_for_function(
            "([ngf, epochs]) => document.querySelector('#train-start') && "
            "[...document.querySelectorAll('input')].some(i => i.getAttribute('aria-label') === 'Epochs' "
            "&& i.value === epochs)",
            arg=[expected[0], expected[1]],
        )
        assert pg.get_by_label("ngf (G width)", exact=True).input_value() == expected[0]
        assert pg.get_by_label("Epochs", exact=True).input_value() == expected[1]
        pg.locator("#train-start").click()
        pg.wait_for_function("() => /running/.test((document.querySelector('#train-status') || {}).innerText || '')")
        assert "started" in pg.locator("#train-message").inner_text()
        wait_step_above(pg, 0)
        first = status_step(pg)
        wait_step_above(pg, first)
        assert_plots_draw(pg, 3, f"visitor, {preset}")
        shot(pg, tmp_path, f"visitor_{preset}")
        pg.locator("#train-stop").click()
        pg.wait_for_function("() => /stopped/.test((document.querySelector('#train-status') || {}).innerText || '')")
    finally:
        demo.studio.jobs.stop_and_wait(60)
        context.close()


def test_a_tiny_colour_run_draws_a_colour_grid(browser, public_studio, tmp_path):  # noqa: F811
    """The offline colour dataset end to end in the page, as a Space visitor: photos (3 channels by themselves), the
    colour preset (64x64, DiffAugment with colour), a few steps of narrow networks; the grid the page draws is a
    colour image (its channels differ) of the fixed-noise grid's size (8x8 images of 64 px, 2 px apart)."""
    demo, url = public_studio
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS * 2)
    try:
        pg.goto(url)
        pg.get_by_text("DCGAN Studio").first.wait_for()
        pg.get_by_label("Dataset", exact=True).click()
        pg.get_by_role("option", name="photos", exact=True).click()
        pg.locator("#train-start").wait_for()
        three = pg.get_by_label("3", exact=True)  # the Channels radio (the only choice called 3)
        pg.wait_for_function("(el) => el.checked", arg=three.element_handle())  # photos come in colour: 3 by itself
        pg.locator("#train-preset input").click()
        pg.get_by_role("option", name=re.compile("Colour 64x64")).click()
        pg.wait_for_function(
            "() => [...document.querySelectorAll('input')].some(i => i.getAttribute('aria-label') === 'ngf (G width)'"
            " && i.value === '32')"
        )
        pg.get_by_text("Advanced: stability and speed").click()  # where DiffAugment and the EMA sit
        assert pg.get_by_label("colour + translation + cutout", exact=True).is_checked()
        assert three.is_checked()  # the preset leaves the channels as the dataset set them
        for label, value in (("ngf (G width)", 8), ("ndf (D width)", 8), ("nz", 16), ("Max steps (0 = all)", 6)):
            set_number(pg, label, value)
        pg.get_by_text("Logging").click()
        set_number(pg, "Grid every (steps, 0 = each epoch)", 2)
        pg.locator("#train-start").click()
        pg.wait_for_function("() => /running|finished/.test(document.querySelector('#train-status').innerText)")
        pg.wait_for_function("() => { const i = document.querySelector('#train-grid img'); return i && i.src; }")
        info = assert_grid_large(pg)
        assert info["width"] % (8 * (64 + 2) + 2) == 0, info  # the 8x8 grid of 64 px images, enlarged by a whole factor
        pixels = drawn_pixels(pg, "#train-grid img").astype(int)
        diff = np.abs(pixels[..., 0] - pixels[..., 2])  # a grey grid has R = G = B everywhere
        print(f"colour grid: |R - B| max {diff.max()}, share of pixels with R != B {(diff > 0).mean():.3f}")
        assert (diff > 0).mean() > 0.05  # a few steps from the init: faint colour, but colour (grey: exactly 0)
        shot(pg, tmp_path, "colour_grid")
    finally:
        demo.studio.jobs.stop_and_wait(60)


# ------------------------------------------------------------------------------- the first screen, before Start


@pytest.fixture(scope="module")
def shipped_public_studio(tiny_models_checkpoint, tiny_run, tmp_path_factory):
    """A Space's Studio (public mode) on a checkpoint that has its run folder beside it, as the shipped one does."""
    from support import ship_beside

    from dcgan_studio.app import build_app, launch_options
    from dcgan_studio.plots import save_timelapse

    root = tmp_path_factory.mktemp("space_first_screen")
    checkpoint = ship_beside(tiny_models_checkpoint, tiny_run, root / "checkpoints")
    # a compact timelapse, as the shipped one is: the grids at their own size, which the page enlarges
    grids = sorted((tiny_run / "samples").glob("*.png"))
    save_timelapse(grids, root / "checkpoints" / "tiny_models-run" / "timelapse.gif", min_width=0)
    demo = build_app(shipped=checkpoint, runs_dir=root / "runs", data_dir=root / "data", public=True)
    demo.queue(default_concurrency_limit=1)
    _, url, _ = demo.launch(
        prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options(demo.studio.limits)
    )
    try:
        yield demo, url
    finally:
        demo.studio.jobs.stop_and_wait(60)
        demo.close()


def test_before_start_the_train_tab_shows_the_shipped_generators_training(
    browser, shipped_public_studio, tiny_run, tmp_path
):  # noqa: F811
    """A Space visitor's first screen: the shipped run's curves on numeric axes with lines, its timelapse and a
    caption naming it; after Start the visitor's own run replaces them."""
    from dcgan_studio.compare import read_metrics

    _, url = shipped_public_studio
    rows, _ = read_metrics(tiny_run / "metrics.csv")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    try:
        pg.goto(url)
        pg.wait_for_function(
            "() => /shipped generator/.test((document.querySelector('#train-status') || {}).innerText || '')"
        )
        status = pg.locator("#train-status").inner_text()
        assert "tiny_models.safetensors" in status and f"{rows[-1]['step']} steps" in status, status
        assert_plots_draw(pg, len(rows), "the shipped run")  # every logged step, smoothed and raw
        x_axis = [a for a in plot_axes(pg, "loss-plot") if a.startswith("X")][0]
        assert re.search(rf"to {rows[-1]['step']}(\.0)?$", x_axis), x_axis  # the run's steps, to its last
        pg.wait_for_function(
            "() => { const i = document.querySelector('#train-grid img'); return i && /\\.gif/.test(i.src); }"
        )
        picture = image_info(pg, "#train-grid img")
        assert picture["width"] < GRID_MIN_WIDTH and picture["spread"] > 0, picture  # the compact GIF, not blank
        shown = pg.locator("#train-grid img").bounding_box()  # yet drawn as large as the live grid
        assert shown["width"] >= GRID_MIN_WIDTH - 20 and shown["width"] == pytest.approx(shown["height"], abs=2), shown
        fit = pg.evaluate("() => getComputedStyle(document.querySelector('#train-grid img')).objectFit")
        assert fit in ("contain", "fill"), fit  # the picture fills its box, not drawn at its own size inside it
        assert "shipped generator's training" in pg.locator("#train-grid").inner_text()
        shot(pg, tmp_path, "first_screen_shipped")

        for label, value in (("ngf (G width)", 8), ("ndf (D width)", 8), ("nz", 16), ("Max steps (0 = all)", 40)):
            set_number(pg, label, value)
        pg.locator("#train-start").click()
        pg.wait_for_function(
            "() => /running|finished/.test((document.querySelector('#train-status') || {}).innerText || '')"
        )
        assert "shipped generator" not in pg.locator("#train-status").inner_text()
        pg.wait_for_function("() => !/shipped/.test((document.querySelector('#train-grid') || {}).innerText || '')")
        shot(pg, tmp_path, "first_screen_replaced")
    finally:
        shipped_public_studio[0].studio.jobs.stop_and_wait(60)
        context.close()

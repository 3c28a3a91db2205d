"""The Runs tab in a real browser (Debian's chromium, Playwright), on two tiny runs that differ in lr and seed: their
curves are two coloured sets of lines on numeric, linear axes with the steps aligned, their same-step grids are two
different images, one mouse click on the step slider moves both, and the settings table lists exactly lr and seed."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from browser_kit import NEEDS_CHROMIUM, drawn_pixels, open_tab, page, shot  # noqa: F401 - fixtures
from support import TWO_RUNS

from dcgan_studio.app import runs_tab

pytestmark = [NEEDS_CHROMIUM, pytest.mark.slow]  # a real browser: ~15 s on 2 cores

# every line the curves draw: its stroke colour and its points (matplotlib's SVG: a path "M x y L x y ...")
LINES_JS = """() => [...document.querySelectorAll('#runs-curves svg path')].map(p => {
    const m = /stroke:\\s*(#[0-9a-f]{6})/.exec(p.getAttribute('style') || '');
    const xy = (p.getAttribute('d') || '').match(/-?[\\d.]+/g) || [];
    const axes = p.closest('g[id^="axes_"]');
    return {colour: m ? m[1] : null, dashed: /dasharray/.test(p.getAttribute('style') || ''),
            axes: axes ? axes.id : null, xs: xy.filter((_, i) => i % 2 === 0).map(Number)};
})"""

# each axis: its tick labels and where each is drawn on the page
AXES_JS = """() => [...document.querySelectorAll('#runs-curves svg g[id^="matplotlib.axis_"]')].map(axis => ({
    id: axis.id,
    ticks: [...axis.querySelectorAll('g[id^="xtick_"] text, g[id^="ytick_"] text')].map(t => {
        const r = t.getBoundingClientRect();
        return {label: t.textContent, x: r.x + r.width / 2, y: r.y + r.height / 2};
    }),
}))"""

GRIDS = "#runs-grids img"


@pytest.fixture(scope="module")
def two_runs_in_studio(running_studio, two_runs):
    """The two tiny runs in the running Studio's runs folder, and no shipped run (whatever the checkout holds)."""
    _, _, root = running_studio
    for name in TWO_RUNS:
        shutil.copytree(two_runs / name, root / "runs" / name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runs_tab, "shipped_run", lambda: root / "no-shipped-run")
        yield root / "runs"


def pick_both(pg) -> None:
    """Pick a and b in the runs dropdown (the page opens on the newest run), as a visitor does: click, choose."""
    pg.locator(GRIDS).first.wait_for()  # the first screen is there
    shown = {c.split(":")[0] for c in captions(pg)}
    for name in sorted(set(TWO_RUNS) - shown):
        pg.locator("#runs-picker input").click()
        pg.locator('[role="option"]', has_text=re.compile(rf"^\W*{name}$")).click()
        pg.keyboard.press("Escape")
    pg.wait_for_function(f"document.querySelectorAll('{GRIDS}').length === 2")


def captions(pg) -> list[str]:
    return pg.eval_on_selector_all(GRIDS, "imgs => imgs.map(i => i.alt)")


def grid_pixels(pg) -> list[np.ndarray]:
    pg.locator(GRIDS).first.scroll_into_view_if_needed()
    pg.eval_on_selector_all(GRIDS, "imgs => imgs.forEach(i => { i.loading = 'eager'; })")  # thumbnails are lazy
    return [drawn_pixels(pg, GRIDS, i) for i in range(2)]


def check_linear(axis: dict) -> None:
    """An axis of numbers, evenly spaced, drawn at evenly spaced places: a linear, numeric axis."""
    ticks = axis["ticks"]
    values = [float(t["label"].replace("\u2212", "-")) for t in ticks]  # matplotlib's minus sign
    where = [t["x"] if "axis_1" in axis["id"] or "axis_3" in axis["id"] else t["y"] for t in ticks]
    assert len(values) >= 3, axis
    steps = np.diff(values)
    assert np.allclose(steps, steps[0]), (axis["id"], values)
    assert np.allclose(np.diff(where), np.diff(where)[0], atol=1.5), (axis["id"], where)


def test_two_runs_curves_grids_slider_and_settings(page, two_runs_in_studio, tmp_path):  # noqa: F811 - a fixture
    open_tab(page, "Runs")
    pick_both(page)
    shot(page, tmp_path, "runs_two")

    # the curves: two colours, one per run, each drawing 4 lines (Loss_D, Loss_G, D(x), D(G(z))) over the 6 steps,
    # the runs' steps at the same places (shared axes); the axes numeric and linear
    lines = [ln for ln in page.evaluate(LINES_JS) if ln["colour"] and len(ln["xs"]) == 6]
    colours = sorted({ln["colour"] for ln in lines})
    assert len(colours) == 2 and all(sum(ln["colour"] == c for ln in lines) == 4 for c in colours), lines
    for axes in {ln["axes"] for ln in lines}:
        xs = [ln["xs"] for ln in lines if ln["axes"] == axes]
        assert all(np.allclose(x, xs[0]) for x in xs) and np.all(np.diff(xs[0]) > 0)
    axes = page.evaluate(AXES_JS)
    assert len(axes) == 4  # x and y of the losses, x and y of D's outputs
    for axis in axes:
        check_linear(axis)

    # the same-step grids: the two runs' own pictures (different seeds: different noise)
    names = sorted(c.split(":")[0] for c in captions(page))
    assert names == sorted(TWO_RUNS) and all(c.endswith("step 6") for c in captions(page))
    late = grid_pixels(page)
    assert late[0].shape == late[1].shape and not np.array_equal(late[0], late[1])

    # one slider moves both: a click at its left end (step 0) redraws both grids at their nearest, step 2
    track = page.locator("#runs-step input[type=range]")
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        f"[...document.querySelectorAll('{GRIDS}')].every(i => /: step 2\\b/.test(i.alt))", timeout=30_000
    )
    early = grid_pixels(page)
    assert all(not np.array_equal(e, la) for e, la in zip(early, late, strict=True))
    shot(page, tmp_path, "runs_step2")

    # the settings that differ: exactly lr and seed, a column per run
    cells = page.eval_on_selector_all(
        '#runs-diff [role="gridcell"]', "cells => cells.map(c => [+c.dataset.col, c.innerText.trim()])"
    )
    assert [text for col, text in cells if col == 0] == ["train.lr", "train.seed"], cells
    headers = page.eval_on_selector_all('#runs-diff [role="columnheader"]', "hs => hs.map(h => h.title)")
    assert headers[0] == "setting" and sorted(headers[1:]) == sorted(TWO_RUNS)

    # "clear all" empties the view (the dropdown sends a change only)
    page.locator("#runs-picker [title='Clear']").click()
    page.wait_for_function(f"document.querySelectorAll('{GRIDS}').length === 0")
    assert page.locator("#runs-summary").inner_text() == "Pick one to four runs above to compare them."

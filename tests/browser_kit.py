"""What the browser tests share: Debian's chromium driven by Playwright, a page on the running Studio, screenshots,
real mouse drags, and readers of what is drawn (Vega axes and lines, image pixel sizes)."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
# a test module does `pytestmark = browser_kit.NEEDS_CHROMIUM` and imports `page` from here (`browser`, one chromium
# for the whole session, is conftest.py's)
NEEDS_CHROMIUM = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install -y chromium)"
)

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("gradio")

TIMEOUT_MS = 60_000


@pytest.fixture
def page(browser, running_studio, request, tmp_path):
    _, url, _ = running_studio
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(url)
    pg.get_by_text("DCGAN Studio").first.wait_for()
    yield pg
    shot(pg, tmp_path, f"zz_end_{request.node.name}")  # the page as the test left it (useful when it failed)
    context.close()


def shot(pg, tmp_path: Path, name: str) -> None:
    pg.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    out = os.environ.get("STUDIO_SCREENSHOTS")  # optional copy for a person to look at
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(Path(out) / f"{name}.png"), full_page=True)


def status_step(pg) -> int:
    m = re.search(r"step (\d+)/", pg.locator("#train-status").inner_text())
    return int(m.group(1)) if m else -1


def set_number(pg, label: str, value) -> None:
    box = pg.get_by_label(label, exact=True).first
    box.fill(str(value))
    box.press("Tab")


def drag(pg, source, target) -> None:
    """A real mouse drag: press on the thumbnail, move in steps, release over the slot."""
    source.scroll_into_view_if_needed()
    s = source.bounding_box()
    t = target.bounding_box()
    pg.mouse.move(s["x"] + s["width"] / 2, s["y"] + s["height"] / 2)
    pg.mouse.down()
    pg.mouse.move(s["x"] + s["width"] / 2 + 10, s["y"] + s["height"] / 2 + 10, steps=3)
    pg.mouse.move(t["x"] + t["width"] / 2, t["y"] + t["height"] / 2, steps=12)
    pg.mouse.up()


def open_tab(pg, name: str) -> None:
    pg.get_by_role("tab", name=name).click()


def thumbs(pg, gallery_id: str):
    return pg.locator(f"#{gallery_id} img")


# ------------------------------------------------------------------------------------------------ what is drawn


def plot_axes(pg, plot_id: str) -> list[str]:
    """The ``aria-label`` of each Vega axis of a gr.LinePlot ("X-axis titled 'step' for a linear scale with values
    from 0 to 50", or "... for a discrete scale ..." when the axis went nominal)."""
    return pg.evaluate(
        """(id) => [...document.querySelectorAll(`#${id} g.role-axis`)].map(g => g.getAttribute('aria-label') || '')
               .filter(label => label)""",  # unlabelled axes draw only the grid lines
        plot_id,
    )


def plot_lines(pg, plot_id: str) -> list[int]:
    """For each line drawn in a plot: how many points its path has (a path 'M x,y L x,y ...'); paths of series
    with no data yet (drawn empty) are left out."""
    return pg.evaluate(
        """(id) => [...document.querySelectorAll(`#${id} g.mark-line path`)].map(p => {
               const d = p.getAttribute('d') || ''; return (d.match(/[ML]/g) || []).length; }).filter(n => n > 0)""",
        plot_id,
    )


def plot_legend(pg, plot_id: str) -> list[str]:
    return pg.evaluate(
        "(id) => [...document.querySelectorAll(`#${id} g.role-legend-label text`)].map(t => t.textContent)", plot_id
    )


def image_info(pg, selector: str, index: int = 0) -> dict | None:
    """Natural pixel size of the ``index``-th ``img`` under ``selector``, its src, the spread of its (red) pixel
    values (max - min over a canvas copy: 0 means a blank image), their sum (differs when the picture changed) and a
    digest of every pixel (two images with the same digest show the same picture). Waits for the image to decode, at
    most 20 s."""
    return pg.evaluate(
        """async ([sel, index]) => {
            const img = document.querySelectorAll(sel)[index];
            if (!img) return null;
            if (!img.complete || !img.naturalWidth) {
                await Promise.race([img.decode().catch(() => null), new Promise(r => setTimeout(r, 20000))]);
            }
            const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
            const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
            let lo = 255, hi = 0, sum = 0, digest = 0;
            try {
                const d = ctx.getImageData(0, 0, c.width, c.height).data;
                for (let i = 0; i < d.length; i += 4) {
                    const v = d[i]; sum += v; if (v < lo) lo = v; if (v > hi) hi = v;
                    digest = (Math.imul(digest, 31) + v + d[i + 1] * 7 + d[i + 2] * 13) | 0;
                }
            } catch (e) { lo = -1; hi = -1; }
            return {width: img.naturalWidth, height: img.naturalHeight, src: img.src, spread: hi - lo, sum, digest};
        }""",
        [selector, index],
    )


def drawn_pixels(pg, selector: str, index: int = 0) -> np.ndarray:
    """The pixels of the ``index``-th ``img`` under ``selector`` as the browser decoded them: (height, width, 3)
    uint8 RGB at the image's natural size, copied losslessly through a canvas (a PNG data URL). What the page shows,
    to compare with what the server made."""
    from PIL import Image

    url = pg.evaluate(
        """async ([sel, index]) => {
            const img = document.querySelectorAll(sel)[index];
            if (!img) return null;
            if (!img.complete || !img.naturalWidth) await img.decode().catch(() => null);
            const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
            c.getContext('2d').drawImage(img, 0, 0);
            return c.toDataURL('image/png');
        }""",
        [selector, index],
    )
    assert url and url.startswith("data:image/png;base64,"), f"no decoded image {index} under {selector}"
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def sample_id(src: str) -> str:
    """The server sample a thumbnail shows: the id in its ``s_<id>.png`` file name."""
    m = re.search(r"s_([0-9a-f]{16})\.png", src)
    assert m, f"{src} is not a sample thumbnail"
    return m.group(1)

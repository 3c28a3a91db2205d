"""The Studio in a real browser: Debian's chromium driven by Playwright, mouse drags included.

Flows: train a few steps on the digits and see the plots, grid and status update; reload mid-run and see the page
re-attach to the running job; stop; sample; drag two samples into the interpolation ends and interpolate; drag
samples into arithmetic slots A, B, C with the mouse (and the click fallback) and get a result; refuse a forged
drop; project an uploaded image; open the feature maps and switch channels off. Screenshots go to tmp_path.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is absent (apt-get install -y chromium)")

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("gradio")

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


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


def test_train_live_updates_and_reattach(page, running_studio, tmp_path):
    demo, _, _ = running_studio
    pg = page
    for label, value in (("ngf (G width)", 8), ("ndf (D width)", 8), ("nz", 16), ("Epochs", 50), ("Max steps (0 = all)", 3000)):
        set_number(pg, label, value)
    pg.get_by_text("Logging").click()
    set_number(pg, "Log every (steps)", 2)
    set_number(pg, "Grid every (steps, 0 = each epoch)", 4)
    pg.locator("#train-start").click()
    pg.wait_for_function("() => /running/.test(document.querySelector('#train-status').innerText) && /step [1-9]/.test(document.querySelector('#train-status').innerText)")
    # status text sampled every 50 ms for 6 s: how often does the page update?
    changes = pg.evaluate("""async () => {
        const el = document.querySelector('#train-status'); const seen = []; let last = el.innerText;
        const t0 = performance.now();
        while (performance.now() - t0 < 6000) {
            await new Promise(r => setTimeout(r, 50));
            if (el.innerText !== last) { last = el.innerText; seen.push(performance.now()); }
        }
        return seen; }""")
    # one poll can touch the text more than once (markdown re-render): changes closer than 300 ms are one update
    updates = [t for i, t in enumerate(changes) if i == 0 or t - changes[i - 1] > 300]
    gaps = [b - a for a, b in zip(updates, updates[1:])]
    assert len(updates) >= 3, f"the status changed only {len(updates)} times in 6 s"
    assert max(gaps) < 2600, f"update gaps {gaps}"
    (tmp_path / "timer_gaps_ms.json").write_text(json.dumps(gaps))
    print(f"\nstatus update gaps (ms): {[round(g) for g in gaps]}")
    pg.locator("#train-grid img").wait_for()
    pg.locator("#loss-plot canvas, #loss-plot svg").first.wait_for()
    pg.locator("#d-plot canvas, #d-plot svg").first.wait_for()
    first_src = pg.locator("#train-grid img").get_attribute("src")
    pg.wait_for_function("(src) => { const i = document.querySelector('#train-grid img'); return i && i.src !== src; }", arg=first_src)
    assert "Loss_D" in pg.locator("#train-log textarea").input_value()
    shot(pg, tmp_path, "01_training")

    # reload mid-run: the page re-attaches to the same job
    before = status_step(pg)
    pg.reload()
    pg.wait_for_function("() => /running/.test((document.querySelector('#train-status')||{}).innerText || '')")
    pg.wait_for_function(f"() => {{ const m = /step (\\d+)\\//.exec(document.querySelector('#train-status').innerText); return m && +m[1] > {before}; }}")
    pg.locator("#train-grid img").wait_for()
    assert demo.studio.jobs.current().is_alive
    assert pg.get_by_label("ngf (G width)", exact=True).input_value() == "8"  # the form shows the re-attached run
    shot(pg, tmp_path, "02_reattached")

    pg.locator("#train-pause").click()
    pg.wait_for_function("() => /paused/.test(document.querySelector('#train-status').innerText)")
    pg.locator("#train-stop").click()
    pg.wait_for_function("() => /stopped/.test(document.querySelector('#train-status').innerText)")
    pg.wait_for_function("() => /generator/.test(document.querySelector('#train-files').innerText)")
    shot(pg, tmp_path, "03_stopped")


def test_sample_interpolate_drag_arithmetic_project_features(page, running_studio, tmp_path):
    pg = page
    # ------------------------------------------------------------ sample
    open_tab(pg, "Sample")
    count = pg.locator("#sample-count input[type=number]")
    count.fill("16")
    count.press("Enter")
    pg.locator("#sample-go").click()
    pg.locator("#sample-grid img").wait_for()
    pg.wait_for_function("() => document.querySelector('#sample-ids textarea, #sample-ids input').value.split(',').length === 16")
    shot(pg, tmp_path, "04_sample")

    # ------------------------------------------------------------ interpolate: drag two samples into the ends
    open_tab(pg, "Interpolate")
    thumbs(pg, "interp-gallery").nth(15).wait_for()
    drag(pg, thumbs(pg, "interp-gallery").nth(0), pg.locator("#interp-start"))
    pg.locator("#interp-start").get_by_text("Start (1)").wait_for()
    drag(pg, thumbs(pg, "interp-gallery").nth(1), pg.locator("#interp-end"))
    pg.locator("#interp-end").get_by_text("End (1)").wait_for()
    pg.locator("#interp-go").click()
    pg.locator("#interp-strip img").wait_for()
    pg.locator("#interp-gif img").wait_for()
    pg.get_by_text(re.compile(r"seed 0 #0 → seed 0 #1")).wait_for()
    shot(pg, tmp_path, "05_interpolate")

    # ------------------------------------------------------------ arithmetic: real mouse drags into A, B, C
    open_tab(pg, "Latent arithmetic")
    gallery = thumbs(pg, "arith-gallery")
    gallery.nth(15).wait_for()
    drag(pg, gallery.nth(0), pg.locator("#slot-a"))
    pg.locator("#slot-a").get_by_text("A (1)").wait_for()
    drag(pg, gallery.nth(1), pg.locator("#slot-a"))
    pg.locator("#slot-a").get_by_text("A (2)").wait_for()
    drag(pg, gallery.nth(2), pg.locator("#slot-b"))
    pg.locator("#slot-b").get_by_text("B (1)").wait_for()
    # the click fallback: pick a sample, then press the slot's button
    gallery.nth(3).click()
    pg.get_by_text("Picked **").or_(pg.locator("#arith-picked").get_by_text("Picked")).first.wait_for()
    pg.locator("#add-c").click()
    pg.locator("#slot-c").get_by_text("C (1)").wait_for()
    # ...or click the slot itself
    gallery.nth(4).click()
    pg.wait_for_timeout(300)
    pg.locator("#slot-c").click()
    pg.locator("#slot-c").get_by_text("C (2)").wait_for()
    # a forged drop (a URL the server never made) is refused and changes nothing
    pg.evaluate("""() => { const el = document.querySelector('#slot-b');
        const dt = new DataTransfer(); dt.setData('text/uri-list', '/gradio_api/file=/tmp/x/s_0123456789abcdef.png');
        el.querySelector('.slot').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})); }""")
    pg.get_by_text("not a sample made by this server").first.wait_for()
    assert "B (1)" in pg.locator("#slot-b").inner_text()
    pg.locator("#arith-go").click()
    pg.locator("#arith-result img").wait_for()
    pg.locator("#arith-row img").wait_for()
    shot(pg, tmp_path, "06_arithmetic")
    pg.locator("#clear-a").click()
    pg.locator("#slot-a").get_by_text("drag samples here").wait_for()

    # ------------------------------------------------------------ project an uploaded image
    open_tab(pg, "Your image in latent space")
    from PIL import Image, ImageDraw

    img = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(img).ellipse((16, 8, 48, 56), outline=255, width=6)  # a zero
    path = tmp_path / "zero.png"
    img.save(path)
    pg.locator("#project-upload input[type=file]").set_input_files(str(path))
    pg.locator("#project-upload img").wait_for()
    pg.locator("#project-go").click()
    pg.locator("#project-info").get_by_text("MSE went from").wait_for()
    pg.locator("#project-recon img").wait_for()
    shot(pg, tmp_path, "07_project")

    # ------------------------------------------------------------ feature maps and forgetting
    open_tab(pg, "Feature maps")
    thumbs(pg, "feat-gallery").first.click()  # the projected sample is the newest
    pg.wait_for_function("() => document.querySelector('#feat-sample-id textarea, #feat-sample-id input').value.length === 16")
    pg.locator("#feat-go").click()
    pg.locator("#feat-caption").get_by_text("projected").wait_for()
    pg.wait_for_function("() => document.querySelectorAll('#feat-g img').length >= 4 && document.querySelectorAll('#feat-d img').length >= 3")
    pg.locator("#feat-filters img").wait_for()
    pg.locator("#ablate-go").click()
    pg.locator("#ablate-caption").get_by_text("channel(s) of G layer 0 off").wait_for()
    pg.locator("#ablate-after img").wait_for()
    shot(pg, tmp_path, "08_features")

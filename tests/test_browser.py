"""The Studio in a real browser: Debian's chromium driven by Playwright, mouse drags included.

Flows (training has its own file, test_browser_train.py): sample; drag two samples into the interpolation ends and interpolate; drag
samples into arithmetic slots A, B, C with the mouse (and the click fallback) and get a result; refuse a forged
drop; project an uploaded image; open the feature maps and switch channels off. Screenshots go to tmp_path.
"""
from __future__ import annotations

import re

from browser_kit import NEEDS_CHROMIUM, browser, drag, open_tab, page, shot, thumbs  # noqa: F401 - fixtures

pytestmark = NEEDS_CHROMIUM


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

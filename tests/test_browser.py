"""The Studio in a real browser: Debian's chromium driven by Playwright, mouse drags included.

Flows (training has its own file, test_browser_train.py): the first screen before any click (a grid, full galleries,
a walk and seed 0's feature maps), with no new samples on a reload; sample; drag two samples into the interpolation
ends and interpolate; drag samples into arithmetic slots A, B, C with the mouse (and the click fallback) and get a
result; refuse a forged drop; project an uploaded image; open the feature maps and switch channels off.

Every check looks at what is drawn: an image's natural pixel size (what the server made, before CSS scaling) and its
pixel spread (0 = a blank image), thumbnails inside the slots, captions. Screenshots of each tab after its main action
go to tmp_path (and to $STUDIO_SCREENSHOTS when set). The app runs on a tiny random-weight checkpoint
(tests/conftest.py: 32x32, 1 channel, nz=16, ngf=ndf=8), so the images look like noise here; their sizes, and their
pixels, are what the tests pin down: what the page decoded (browser_kit.drawn_pixels) is compared with the samples the
server registered (their z and image, by the id in a thumbnail's ``s_<id>.png`` or an ids box), never only with
another picture of a different size.
"""

from __future__ import annotations

import io
import re
import urllib.request

import numpy as np
import pytest
import torch
from browser_kit import (  # noqa: F401 - page is a fixture
    NEEDS_CHROMIUM,
    drag,
    drawn_pixels,
    image_info,
    open_tab,
    page,
    sample_id,
    shot,
    thumbs,
)

from dcgan_studio.app.visitors import LOCAL_VISITOR

pytestmark = [NEEDS_CHROMIUM, pytest.mark.slow]  # a real browser: ~20 s a test on 2 cores

SIDE = 32  # the test checkpoint's image size
PAD = 2  # torchvision make_grid padding (plots.grid_uint8)
THUMB = 2 * SIDE  # gallery thumbnails: settings.THUMB_SCALE times the image
FIRST_COUNT = 24  # sample_tab.FIRST_COUNT: samples a page load makes (seed 0)


def grid_size(columns: int, rows: int, side: int = SIDE) -> tuple[int, int]:
    """Pixel size of a make_grid grid of ``columns`` x ``rows`` images (2 px padding around and between)."""
    return columns * (side + PAD) + PAD, rows * (side + PAD) + PAD


def enlarged(size: tuple[int, int], min_side: int) -> tuple[int, int]:
    """``size`` enlarged by the smallest integer factor that makes its longer side at least ``min_side``."""
    factor = max(1, -(-min_side // max(size)))
    return size[0] * factor, size[1] * factor


def scaled(size: tuple[int, int], factor: int) -> tuple[int, int]:
    return size[0] * factor, size[1] * factor


# ------------------------------------------------------------------------------------------------ readers


def wait_image(pg, selector: str, size: tuple[int, int], not_src: str | None = None) -> dict:
    """Wait until the first ``img`` under ``selector`` has decoded at ``size`` (and, when given, a src other than
    ``not_src``: a new picture); return its info, asserting it is not blank."""
    pg.wait_for_function(
        """([sel, w, h, old]) => { const i = document.querySelector(sel);
               return !!i && i.complete && i.naturalWidth === w && i.naturalHeight === h
                   && (!old || i.src !== old); }""",
        arg=[selector, size[0], size[1], not_src],
    )
    info = image_info(pg, selector)
    assert (info["width"], info["height"]) == size, (selector, info)
    assert info["spread"] > 0, f"{selector} is blank: {info}"
    return info


def served_pixels(src: str) -> np.ndarray:
    """The picture the page shows, fetched from its URL: RGB pixels as the server wrote them (PNG, lossless)."""
    from PIL import Image

    with urllib.request.urlopen(src, timeout=60) as response:
        return np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB"))


def seed_images(demo, count: int, seed: int = 0):
    """uint8 images (count, C, H, W) the page's checkpoint draws for ``seed`` (what a page load must show)."""
    from dcgan_studio.latent import generate, sample_z

    models = demo.studio.models.get(LOCAL_VISITOR, demo.studio.models.default(LOCAL_VISITOR))
    return generate(models.generator, sample_z(count, models.config.nz, seed))


def server_sample(demo, sid: str):
    """The sample the server registered under ``sid`` (its z and the image the generator drew for it)."""
    sample = demo.studio.samples.get(LOCAL_VISITOR, sid)
    assert sample is not None, f"the server has no sample {sid}"
    return sample


def enlarged_pixels(image, factor: int) -> np.ndarray:
    """A uint8 (C, H, W) image as (H * factor, W * factor, 3) RGB pixels, each pixel repeated factor x factor times
    (nearest neighbour; one grey channel shown as grey RGB)."""
    hwc = np.asarray(image.cpu()).transpose(1, 2, 0).repeat(factor, axis=0).repeat(factor, axis=1)
    return np.repeat(hwc, 3, axis=2) if hwc.shape[2] == 1 else hwc


def cell(pixels: np.ndarray, row: int, column: int, factor: int, side: int = SIDE) -> np.ndarray:
    """Image (row, column) of a make_grid grid enlarged ``factor`` times (PAD px around and between the images)."""
    y, x = factor * (PAD + row * (side + PAD)), factor * (PAD + column * (side + PAD))
    return pixels[y : y + factor * side, x : x + factor * side]


def assert_shows(pixels: np.ndarray, image, factor: int, what: str = "") -> None:
    """``pixels`` (what the page decoded) are ``image`` (what the server drew) enlarged ``factor`` times, exactly:
    the random-weight test model draws grey pictures of levels 127 and 128 only, so a single level apart is
    another picture (the same z drawn again in another batch gives the same levels on the CPU)."""
    expected = enlarged_pixels(image, factor)
    assert pixels.shape == expected.shape, (what, pixels.shape, expected.shape)
    diff = int(np.abs(pixels.astype(np.int16) - expected.astype(np.int16)).max())
    assert diff == 0, f"{what}: the page's pixels differ from the server's by up to {diff} levels"


def wait_count(pg, selector: str, n: int) -> None:
    pg.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length === n", arg=[selector, n])


def text_value(pg, elem_id: str) -> str:
    return pg.evaluate("(id) => document.querySelector(`#${id} textarea, #${id} input`).value", elem_id)


def assert_thumbnail(pg, selector: str, index: int = 0) -> dict:
    """The ``index``-th thumbnail under ``selector`` is a server sample's picture: THUMB x THUMB, not blank."""
    info = image_info(pg, selector, index)
    assert info is not None, f"no thumbnail {index} under {selector}"
    assert (info["width"], info["height"]) == (THUMB, THUMB) and info["spread"] > 0, (selector, index, info)
    return info


def slot_ids(pg, slot_id: str) -> list[str]:
    """The sample ids of the thumbnails a slot shows (each ``img`` carries its sample's id; the picture is inline)."""
    return pg.evaluate(
        "(id) => [...document.querySelectorAll(`#${id} .slot-items img`)].map(i => i.dataset.sample)", slot_id
    )


def slot_images(pg, slot_id: str) -> int:
    return pg.locator(f"#{slot_id} .slot-items img").count()


def wait_slot(pg, slot_id: str, title: str, n: int) -> None:
    """After a drop or a click, the slot shows ``n`` thumbnails (images, not only its count text)."""
    pg.locator(f"#{slot_id}").get_by_text(f"{title} ({n})").wait_for()
    wait_count(pg, f"#{slot_id} .slot-items img", n)
    for i in range(n):
        assert_thumbnail(pg, f"#{slot_id} .slot-items img", i)


# ------------------------------------------------------------------------------------------------ tests


def test_first_screen_shows_the_model_before_any_click(page, running_studio, tmp_path):  # noqa: F811 - a fixture
    pg = page
    demo, _, _ = running_studio
    # ------------------------------------------------------------ Sample: a 6x4 grid of seed 0, its 24 ids
    open_tab(pg, "Sample")
    first_grid = wait_image(pg, "#sample-grid img", enlarged(grid_size(6, 4), 512))
    pg.wait_for_function(
        "() => document.querySelector('#sample-ids textarea, #sample-ids input').value.split(',').length === 24"
    )
    first_ids = text_value(pg, "sample-ids").split(",")
    assert all(demo.studio.samples.get(LOCAL_VISITOR, sid) is not None for sid in first_ids)  # real server samples
    assert text_value(pg, "sample-seed") == "0"
    # pixel for pixel, the grid is the checkpoint's 24 images of seed 0 (6 per row, enlarged 3x, nearest neighbour)
    from dcgan_studio.app.common import grid_pil

    expected = np.asarray(grid_pil(seed_images(demo, FIRST_COUNT), nrow=6, scale=3).convert("RGB"))
    assert np.array_equal(served_pixels(first_grid["src"]), expected)
    shot(pg, tmp_path, "01_first_sample")

    # ------------------------------------------------------------ Interpolate: the gallery holds them; a walk is shown
    open_tab(pg, "Interpolate")
    wait_count(pg, "#interp-gallery img", FIRST_COUNT)
    thumb = assert_thumbnail(pg, "#interp-gallery img", 0)
    assert f"s_{first_ids[0]}.png" in thumb["src"]  # the gallery shows the page load's samples, newest first
    pg.locator("#interp-caption").get_by_text("seed 0 → seed 1, 10 steps, slerp").wait_for()
    wait_image(pg, "#interp-strip img", scaled(grid_size(10, 1), 3))  # 10 frames, each enlarged 3x (96 px)
    wait_image(pg, "#interp-gif img", (6 * SIDE, 6 * SIDE))  # the GIF's frames enlarged to 192 px
    assert slot_images(pg, "interp-start") == 0 and slot_images(pg, "interp-end") == 0
    shot(pg, tmp_path, "02_first_interpolate")

    # ------------------------------------------------------------ Latent arithmetic: the gallery holds them
    open_tab(pg, "Latent arithmetic")
    wait_count(pg, "#arith-gallery img", FIRST_COUNT)
    assert_thumbnail(pg, "#arith-gallery img", 0)
    shot(pg, tmp_path, "03_first_arithmetic")

    # ------------------------------------------------------------ Feature maps: seed 0, and a channel ablation
    open_tab(pg, "Feature maps")
    wait_count(pg, "#feat-gallery img", FIRST_COUNT)
    pg.wait_for_function("() => document.querySelector('#feat-caption').innerText.trim() === 'seed 0'")
    wait_count(pg, "#feat-g img", 4)  # 3 ReLU stages + the Tanh output at 32 px
    wait_count(pg, "#feat-d img", 3)  # 3 LeakyReLU stages
    drawn = wait_image(pg, "#feat-drawn img", (6 * SIDE, 6 * SIDE))  # G(z) enlarged to >= 180 px
    from dcgan_studio.app.common import pil

    assert np.array_equal(served_pixels(drawn["src"]), np.asarray(pil(seed_images(demo, 1)[0], 180).convert("RGB")))
    for sel in ("#feat-g img", "#feat-d img"):
        for i in range(3):
            info = image_info(pg, sel, i)
            assert min(info["width"], info["height"]) >= 256 and info["spread"] > 0, (sel, i, info)
    filters = image_info(pg, "#feat-filters img")
    assert filters["width"] >= 256 and filters["spread"] > 0, filters
    # the default ablation: half of G layer 1's 16 channels off, before and after both drawn, and different
    pg.locator("#ablate-caption").get_by_text("seed 0: 8 channel(s) of G layer 1 off").wait_for()
    before = wait_image(pg, "#ablate-before img", (7 * SIDE, 7 * SIDE))  # enlarged to >= 220 px
    after = wait_image(pg, "#ablate-after img", (7 * SIDE, 7 * SIDE))
    assert_shows(drawn_pixels(pg, "#ablate-before img"), seed_images(demo, 1)[0], 7, "ablation before (seed 0)")
    assert before["digest"] != after["digest"]
    assert pg.locator("#ablate-channels textarea, #ablate-channels input").first.input_value() == "0-7"
    shot(pg, tmp_path, "04_first_features")

    # ------------------------------------------------------------ a reload shows the same samples, makes none
    made = len(demo.studio.samples)
    pg.reload()
    open_tab(pg, "Sample")
    pg.wait_for_function(
        "(ids) => { const t = document.querySelector('#sample-ids textarea, #sample-ids input');"
        " return !!t && t.value === ids; }",
        arg=",".join(first_ids),
    )
    again = wait_image(pg, "#sample-grid img", (first_grid["width"], first_grid["height"]))
    assert again["digest"] == first_grid["digest"]
    open_tab(pg, "Latent arithmetic")
    wait_count(pg, "#arith-gallery img", FIRST_COUNT)
    assert len(demo.studio.samples) == made


def test_sample_interpolate_drag_arithmetic_project_features(page, running_studio, tmp_path):  # noqa: F811 - fixture
    pg = page
    demo, _, _ = running_studio
    # ------------------------------------------------------------ sample 16: a 4x4 grid, 16 new ids
    open_tab(pg, "Sample")
    first = wait_image(pg, "#sample-grid img", enlarged(grid_size(6, 4), 512))
    pg.wait_for_function(
        "() => document.querySelector('#sample-ids textarea, #sample-ids input').value.split(',').length === 24"
    )
    first_ids = set(text_value(pg, "sample-ids").split(","))
    count = pg.locator("#sample-count input[type=number]")
    count.fill("16")
    count.press("Enter")
    pg.locator("#sample-go").click()
    pg.wait_for_function(
        "() => document.querySelector('#sample-ids textarea, #sample-ids input').value.split(',').length === 16"
    )
    wait_image(pg, "#sample-grid img", enlarged(grid_size(4, 4), 512), not_src=first["src"])  # 552 x 552: 4x
    new_ids = text_value(pg, "sample-ids").split(",")
    assert len(set(new_ids)) == 16 and not first_ids & set(new_ids)
    # the grid shows the 16 samples the server registered under those ids, row by row, pixel for pixel
    grid = drawn_pixels(pg, "#sample-grid img")
    for i, sid in enumerate(new_ids):
        assert_shows(cell(grid, i // 4, i % 4, 4), server_sample(demo, sid).image, 4, f"grid image {i}")
    # (and the comparison tells samples apart: the first cell is not the second sample's picture)
    assert not np.array_equal(cell(grid, 0, 0, 4), enlarged_pixels(server_sample(demo, new_ids[1]).image, 4))
    shot(pg, tmp_path, "05_sample")

    # ------------------------------------------------------------ interpolate: drag two samples into the ends
    open_tab(pg, "Interpolate")
    gallery = thumbs(pg, "interp-gallery")
    wait_count(pg, "#interp-gallery img", 16 + FIRST_COUNT)  # the new 16 first, then the page load's 24
    first_strip = image_info(pg, "#interp-strip img")
    start_id, end_id = (sample_id(image_info(pg, "#interp-gallery img", i)["src"]) for i in (0, 1))
    assert [start_id, end_id] == new_ids[:2]  # newest first: the grid's first two
    drag(pg, gallery.nth(0), pg.locator("#interp-start"))
    wait_slot(pg, "interp-start", "Start", 1)
    drag(pg, gallery.nth(1), pg.locator("#interp-end"))
    wait_slot(pg, "interp-end", "End", 1)
    assert slot_ids(pg, "interp-start") == [start_id] and slot_ids(pg, "interp-end") == [end_id]
    # a thumbnail is its sample's image, enlarged 2x
    assert_shows(drawn_pixels(pg, "#interp-start .slot-items img"), server_sample(demo, start_id).image, 2)
    steps = pg.locator("#interp-steps input[type=number]")
    steps.fill("7")
    steps.press("Enter")
    pg.locator("#interp-go").click()
    pg.locator("#interp-caption").get_by_text(re.compile(r"seed 0 #0 → seed 0 #1, 7 steps")).wait_for()
    wait_image(pg, "#interp-strip img", scaled(grid_size(7, 1), 3), not_src=first_strip["src"])  # 720 x 108
    # the walk starts at the Start sample's image and ends at the End sample's
    strip = drawn_pixels(pg, "#interp-strip img")
    assert_shows(cell(strip, 0, 0, 3), server_sample(demo, start_id).image, 3, "first frame")
    assert_shows(cell(strip, 0, 6, 3), server_sample(demo, end_id).image, 3, "last frame")
    wait_image(pg, "#interp-gif img", (6 * SIDE, 6 * SIDE))
    shot(pg, tmp_path, "06_interpolate")

    # ------------------------------------------------------------ arithmetic: real mouse drags into A, B, C
    open_tab(pg, "Latent arithmetic")
    gallery = thumbs(pg, "arith-gallery")
    wait_count(pg, "#arith-gallery img", 16 + FIRST_COUNT)
    picks = [sample_id(image_info(pg, "#arith-gallery img", i)["src"]) for i in range(5)]  # A, A, B, C, C below
    drag(pg, gallery.nth(0), pg.locator("#slot-a"))
    wait_slot(pg, "slot-a", "A", 1)
    drag(pg, gallery.nth(1), pg.locator("#slot-a"))
    wait_slot(pg, "slot-a", "A", 2)
    drag(pg, gallery.nth(2), pg.locator("#slot-b"))
    wait_slot(pg, "slot-b", "B", 1)
    # the click fallback: pick a sample, then press the slot's button
    gallery.nth(3).click()
    pg.locator("#arith-picked").get_by_text("Picked").wait_for()
    pg.locator("#add-c").click()
    wait_slot(pg, "slot-c", "C", 1)
    # ...or click the slot itself
    gallery.nth(4).click()
    pg.locator("#arith-picked").get_by_text("seed 0 #4").wait_for()
    pg.locator("#slot-c").click()
    wait_slot(pg, "slot-c", "C", 2)
    # a forged drop (a URL the server never made) is refused and changes nothing
    pg.evaluate("""() => { const el = document.querySelector('#slot-b');
        const dt = new DataTransfer(); dt.setData('text/uri-list', '/gradio_api/file=/tmp/x/s_0123456789abcdef.png');
        const drop = new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true});
        el.querySelector('.slot').dispatchEvent(drop); }""")
    pg.get_by_text("not a sample made by this server").first.wait_for()
    assert "B (1)" in pg.locator("#slot-b").inner_text() and slot_images(pg, "slot-b") == 1
    pg.get_by_text("not a sample made by this server").first.wait_for(state="hidden")  # the toast goes (6 s)
    for slot, ids in (("slot-a", picks[0:2]), ("slot-b", picks[2:3]), ("slot-c", picks[3:5])):
        assert slot_ids(pg, slot) == ids, (slot, slot_ids(pg, slot), ids)
        for i, sid in enumerate(ids):  # each thumbnail in a slot is its sample's image, 2x
            assert_shows(drawn_pixels(pg, f"#{slot} .slot-items img", i), server_sample(demo, sid).image, 2)
    pg.locator("#arith-go").click()
    wait_image(pg, "#arith-result img", (8 * SIDE, 8 * SIDE))  # enlarged to 256 px
    wait_image(pg, "#arith-row img", scaled(grid_size(8, 1), 3))  # the result and 7 neighbours, 3x
    # the result joins the samples: newest in the gallery
    wait_count(pg, "#arith-gallery img", 16 + FIRST_COUNT + 1)
    pg.locator("#arith-gallery").get_by_text("A−B+C (2/1/2)").first.wait_for()
    assert_thumbnail(pg, "#arith-gallery img", 0)
    result = server_sample(demo, sample_id(image_info(pg, "#arith-gallery img", 0)["src"]))
    assert result.label == "A−B+C (2/1/2)"
    z = [server_sample(demo, sid).z for sid in picks]
    assert torch.allclose(result.z, (z[0] + z[1]) / 2 - z[2] + (z[3] + z[4]) / 2, atol=1e-6)  # mean A − B + mean C
    # what the page shows is that sample's image: alone (8x) and first in the row (3x), pixel for pixel
    assert_shows(drawn_pixels(pg, "#arith-result img"), result.image, 8, "arithmetic result")
    assert_shows(cell(drawn_pixels(pg, "#arith-row img"), 0, 0, 3), result.image, 3, "row's first image")
    shot(pg, tmp_path, "07_arithmetic")
    pg.locator("#clear-a").click()
    pg.locator("#slot-a").get_by_text("drag samples here").wait_for()
    assert slot_images(pg, "slot-a") == 0

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
    target = wait_image(pg, "#project-target img", (8 * SIDE, 8 * SIDE))
    recon = wait_image(pg, "#project-recon img", (8 * SIDE, 8 * SIDE))
    assert target["digest"] != recon["digest"]  # equal sizes: the reconstruction is not the target itself
    pg.wait_for_function("() => document.querySelector('#project-id textarea, #project-id input').value.length === 16")
    projected = server_sample(demo, text_value(pg, "project-id"))
    assert projected.label.startswith("projected")
    assert_shows(drawn_pixels(pg, "#project-recon img"), projected.image, 8, "reconstruction G(z*)")
    shot(pg, tmp_path, "08_project")

    # ------------------------------------------------------------ feature maps and forgetting
    open_tab(pg, "Feature maps")
    pg.wait_for_function("() => document.querySelector('#feat-caption').innerText.trim() === 'seed 0'")
    first_drawn = image_info(pg, "#feat-drawn img")
    first_g = image_info(pg, "#feat-g img", 0)
    first_before, first_after = image_info(pg, "#ablate-before img"), image_info(pg, "#ablate-after img")
    thumbs(pg, "feat-gallery").first.click()  # the projected sample is the newest
    pg.wait_for_function(
        "() => document.querySelector('#feat-sample-id textarea, #feat-sample-id input').value.length === 16"
    )
    pg.locator("#feat-go").click()
    pg.locator("#feat-caption").get_by_text("projected").wait_for()
    assert text_value(pg, "feat-sample-id") == projected.id
    drawn = wait_image(pg, "#feat-drawn img", (6 * SIDE, 6 * SIDE), not_src=first_drawn["src"])
    assert drawn["digest"] != first_drawn["digest"]
    assert_shows(drawn_pixels(pg, "#feat-drawn img"), projected.image, 6, "G(z*) in the feature maps")
    pg.wait_for_function(
        "(old) => { const i = document.querySelector('#feat-g img'); return !!i && i.src !== old; }", arg=first_g["src"]
    )
    wait_count(pg, "#feat-g img", 4)
    wait_count(pg, "#feat-d img", 3)
    for sel in ("#feat-g img", "#feat-d img"):
        for i in range(3):
            info = image_info(pg, sel, i)
            assert min(info["width"], info["height"]) >= 256 and info["spread"] > 0, (sel, i, info)
    assert image_info(pg, "#feat-g img", 0)["digest"] != first_g["digest"]
    pg.locator("#ablate-go").click()
    pg.locator("#ablate-caption").get_by_text(re.compile(r"projected .*: 8 channel\(s\) of G layer 1 off")).wait_for()
    after = wait_image(pg, "#ablate-after img", (7 * SIDE, 7 * SIDE), not_src=first_after["src"])
    before = wait_image(pg, "#ablate-before img", (7 * SIDE, 7 * SIDE))
    assert before["digest"] != first_before["digest"]  # G(z*) of the projected z now, not seed 0
    assert_shows(drawn_pixels(pg, "#ablate-before img"), projected.image, 7, "ablation before (z*)")
    assert after["digest"] != before["digest"], "switching channels off left the image unchanged"
    assert after["digest"] != first_after["digest"]
    shot(pg, tmp_path, "09_features")


def test_the_evaluate_tab_draws_its_report_beside_real_references(page, running_studio, tmp_path):  # noqa: F811
    """Evaluate with the page's defaults, as a person presses it: the report drawn in the page has the SWD table with
    a number in every cell of the generated, held-out and floor rows (each row's average the mean of its levels), the
    MS-SSIM line with both real references, and a plots gallery of images that are not blank."""
    pg = page
    open_tab(pg, "Evaluate")
    pg.locator("#eval-go").click()
    pg.wait_for_function(
        "() => /MS-SSIM of random pairs/.test((document.querySelector('#eval-report') || {}).innerText || '')",
        timeout=240_000,
    )
    text = pg.locator("#eval-report").inner_text()
    swd_table = text[text.index("Sliced Wasserstein") : text.index("MS-SSIM of random pairs")]
    for label in ("generated", "held-out real (reference)", "other training images (floor)"):
        (line,) = [ln for ln in swd_table.splitlines() if ln.startswith(label)]
        *levels, average = (float(c) for c in line.split("\t")[1:] if c.strip())
        assert len(levels) == 2 and all(v > 0 for v in levels), line  # 32 and 16 px for the 32x32 checkpoint
        assert average == pytest.approx(sum(levels) / 2, abs=0.01), line
    ms = re.search(r"generated ([\d.]+), held-out real ([\d.]+), training images ([\d.]+)", text)
    assert ms and all(0 < float(v) <= 1 for v in ms.groups()), text
    pg.wait_for_function("() => document.querySelectorAll('#eval-plots img').length > 0")
    pg.locator("#eval-plots img").first.scroll_into_view_if_needed()  # the gallery loads its images lazily
    info = image_info(pg, "#eval-plots img")
    assert info["width"] > 100 and info["spread"] > 0, info  # a plot, not a blank image
    shot(pg, tmp_path, "09_evaluate")

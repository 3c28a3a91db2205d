"""The Train tab in a real browser: start a run on the digits, see the plots draw, the grid change and the status
advance; reload mid-run and see the page re-attach; pause, stop, and see the run's downloads."""
from __future__ import annotations

import json
import re

from browser_kit import NEEDS_CHROMIUM, browser, page, set_number, shot, status_step  # noqa: F401 - fixtures

pytestmark = NEEDS_CHROMIUM


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

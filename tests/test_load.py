"""Load: 8 gradio_client users x 8 sampling calls at once against the launched Studio while a training job runs.

Every call must succeed, training must keep going (its step rises during the load), and the latency figures are
printed (``pytest -s tests/test_load.py``). Bounded by a total timeout; tiny models, so ~15 s on 2 CPU cores (8 calls
a user keep all 8 queued together for most of the run: more calls add time, not concurrency).
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import TINY_FORM

pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402

from dcgan_studio.app.visitors import LOCAL_VISITOR  # noqa: E402

CLIENTS, CALLS = 8, 8
TOTAL_TIMEOUT = 150
TRAIN = TINY_FORM | dict(batch_size=32, epochs=500, max_steps=0, log_every=5, sample_every=0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


@pytest.mark.slow
def test_sampling_under_load_while_training(running_studio):
    demo, url, _ = running_studio
    boss = Client(url, verbose=False)
    assert boss.predict(**TRAIN, api_name="/train_start").startswith("started")
    trainer = demo.studio.jobs.current(LOCAL_VISITOR)
    try:
        deadline = time.time() + 60
        while trainer.snapshot()["step"] < 5 and time.time() < deadline:
            time.sleep(0.2)
        step_before = trainer.snapshot()["step"]
        assert step_before >= 5, "training did not get going"
        ckpt = demo.studio.models.default(LOCAL_VISITOR)
        users = [Client(url, verbose=False) for _ in range(CLIENTS)]

        def user(i):
            c, out = users[i], []
            for k in range(CALLS):
                t0 = time.perf_counter()
                grid, files, ids = c.predict(
                    checkpoint=ckpt, seed=i * 1000 + k, count=16, truncation=0.0, api_name="/sample"
                )
                out.append(time.perf_counter() - t0)
                assert len(ids.split(",")) == 16 and grid.endswith(".png")
            return out

        t0 = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(user, i) for i in range(CLIENTS)]
            latencies = [x for f in futures for x in f.result(timeout=TOTAL_TIMEOUT)]
        wall = time.perf_counter() - t0
        snap = trainer.snapshot()
        assert snap["state"] == "running", snap["error"]
        step_after = snap["step"]
    finally:
        demo.studio.jobs.stop_and_wait(60)
    assert len(latencies) == CLIENTS * CALLS
    assert step_after > step_before, "training stalled during the load"
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(
        f"\nload: {CLIENTS} clients x {CALLS} /sample calls (16 images each) = {len(latencies)} calls in {wall:.1f} s "
        f"({len(latencies) / wall:.1f} calls/s); latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms, mean {statistics.mean(latencies) * 1000:.0f} ms; "
        f"training went from step {step_before} to {step_after} during the load ({step_after - step_before} steps)"
    )

"""How long the Space takes to answer its first page, beside a bare Gradio app started the same way.

    python bench/startup.py [--rounds 5]

Each round starts ``python launch.py --port P`` and a bare Gradio app (a Markdown and a Button, launched with the
same host and ``prevent_thread_lock=False``) as subprocesses, alternately, and times each from process start to the
first HTTP 200 on ``/``; then prints the medians and their ratio (the issue's goal: at most 1.5x).

The Studio answers before it imports torch (a background warm-up imports it and loads the checkpoint), so each round
also times, from the same start, the first grid drawn through the ``/sample`` endpoint: what a visitor waits for
until the Sample tab shows digits. That cost is moved after the first page, not removed.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from gradio_client import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from dcgan_studio.app.settings import SHIPPED_CHECKPOINT  # noqa: E402 - the Studio's preselected checkpoint

BARE = """
import sys
import gradio as gr
with gr.Blocks() as demo:
    gr.Markdown("# bare")
    gr.Button("go")
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_first_page(argv: list[str], port: int, timeout: float = 120.0, then=None) -> float | tuple[float, float]:
    """Seconds from starting ``argv`` to the first HTTP 200 on http://127.0.0.1:port/; with ``then`` (a function of
    the URL) also the seconds from the same start until ``then`` returns."""
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv} exited with {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1.0).status_code == 200:
                    page = time.perf_counter() - start
                    if then is None:
                        return page
                    then(f"http://127.0.0.1:{port}/")
                    return page, time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"{argv} did not answer within {timeout} s")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def first_grid(url: str) -> None:
    """The Sample tab's first grid: 24 samples of seed 0 from the shipped checkpoint, through the API."""
    client = Client(url, verbose=False)
    client.predict(str(SHIPPED_CHECKPOINT), 0, 24, 0.0, [], api_name="/sample")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    studio, bare, grid = [], [], []
    for i in range(args.rounds):
        port = free_port()
        page, drawn = time_to_first_page([sys.executable, "launch.py", "--port", str(port)], port, then=first_grid)
        studio.append(page)
        grid.append(drawn)
        port = free_port()
        bare.append(time_to_first_page([sys.executable, "-c", BARE, str(port)], port))
        print(
            f"round {i + 1}: studio {studio[-1]:.2f} s (first grid drawn at {grid[-1]:.2f} s), "
            f"bare gradio {bare[-1]:.2f} s",
            flush=True,
        )
    s, b = statistics.median(studio), statistics.median(bare)
    print(f"median: studio {s:.2f} s, bare gradio {b:.2f} s, ratio {s / b:.2f}x (goal <= 1.5x)")
    print(f"median: the studio's first grid drawn {statistics.median(grid):.2f} s after its start")


if __name__ == "__main__":
    main()

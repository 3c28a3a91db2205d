"""How long the Space takes to answer its first page, beside a bare Gradio app started the same way.

    python bench/startup.py [--rounds 5]

Each round starts ``python launch.py --port P`` and a bare Gradio app (a Markdown and a Button, launched with the
same host and ``prevent_thread_lock=False``) as subprocesses, alternately, and times each from process start to the
first HTTP 200 on ``/``; then prints the medians and their ratio (the issue's goal: at most 1.5x).
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

ROOT = Path(__file__).resolve().parents[1]
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


def time_to_first_page(argv: list[str], port: int, timeout: float = 120.0) -> float:
    """Seconds from starting ``argv`` to the first HTTP 200 on http://127.0.0.1:port/."""
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv} exited with {proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1.0).status_code == 200:
                    return time.perf_counter() - start
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    studio, bare = [], []
    for i in range(args.rounds):
        port = free_port()
        studio.append(time_to_first_page([sys.executable, "launch.py", "--port", str(port)], port))
        port = free_port()
        bare.append(time_to_first_page([sys.executable, "-c", BARE, str(port)], port))
        print(f"round {i + 1}: studio {studio[-1]:.2f} s, bare gradio {bare[-1]:.2f} s", flush=True)
    s, b = statistics.median(studio), statistics.median(bare)
    print(f"median: studio {s:.2f} s, bare gradio {b:.2f} s, ratio {s / b:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()

"""Does the Studio answer while a run trains, and how much of its speed does the run keep?

    python bench/server_load.py                      # baseline and ours, 20 s a phase: about 5 minutes
    python bench/server_load.py --variants baseline,nice,threads,ours --rounds 2 --seconds 10

Each variant starts ``launch.py``'s Studio (``app.serve.serve``) as a subprocess on 127.0.0.1 with its training
levers switched (train/priority.py): **baseline** none (the run's thread at the server's priority, its threads
unchanged), **nice** the training thread's nice value raised by ``STUDIO_NICE``, **threads** one core fewer while
requests are in flight, **ours** both (the Studio's default). Then, through gradio_client as a script would:

1. ``/sample`` (24 samples of the shipped checkpoint, as the Sample tab's first grid) back to back, 1 client then 8
   clients, each for ``--seconds``: latency p50 / p95 with the server idle;
2. the default Train-tab run (the ``quick`` preset's form, through ``/train_start``; more epochs, so it outlasts the
   bench) trains ``--seconds`` alone, ``--seconds`` with 1 client and ``--seconds`` with 8 clients calling
   ``/sample`` back to back, in ``--slices`` interleaved windows (alone, 1 client, alone, 8 clients, ...) because
   the load of other processes drifts: the latencies, and the run's img/s in each (its steps from a
   ``/train_status`` poll at each window's edge, so the polls themselves barely count as requests); "keeps" is its
   speed with clients over its speed alone.

Variants alternate round by round, so load from other processes hits them alike; the load average is printed before
and after. Each row is one variant's medians over rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from gradio_client import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bench.startup import free_port  # noqa: E402
from dcgan_studio.app.settings import SHIPPED_CHECKPOINT, Limits  # noqa: E402
from dcgan_studio.app.train_form import FIELDS, initial_values  # noqa: E402
from dcgan_studio.train.priority import STUDIO_NICE  # noqa: E402

VARIANTS = {"baseline": (False, False), "nice": (True, False), "threads": (False, True), "ours": (True, True)}

# the Studio as launch.py starts it, its levers set by argv: port, runs folder, the run's nice, threads (0/1)
CHILD = """
import sys
from dcgan_studio.app.serve import serve
port, runs, nice, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
demo = serve(host="127.0.0.1", port=port, runs_dir=runs, public=False, block=False)
demo.studio.jobs.nice = nice
if not threads:
    demo.studio.jobs.busy = None
demo.block_thread()
"""


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))] if ordered else float("nan")


class Clients:
    """``n`` gradio clients in threads, each calling ``/sample`` back to back while ``on`` is set. Kept between
    phases, so a phase pays no client's start-up; ``run_for`` returns the latencies of one phase."""

    def __init__(self, url: str, n: int) -> None:
        self.on, self.done = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.in_flight = 0
        self.errors, self.last_error = 0, ""  # failed calls (left out of the latencies)
        self.threads = [threading.Thread(target=self.call, args=(Client(url, verbose=False),)) for _ in range(n)]
        for t in self.threads:
            t.start()

    def call(self, client: Client) -> None:
        while not self.done.is_set():
            with self.lock:
                go = self.on.is_set()
                self.in_flight += go
            if not go:
                time.sleep(0.02)
                continue
            started = time.perf_counter()
            try:
                client.predict(str(SHIPPED_CHECKPOINT), 0, 24, 0.0, [], api_name="/sample")
            except Exception as exc:  # noqa: BLE001 - counted and shown, the client carries on
                with self.lock:
                    self.errors += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            else:
                with self.lock:
                    self.latencies.append(time.perf_counter() - started)
            finally:
                with self.lock:
                    self.in_flight -= 1

    def run_for(self, seconds: float) -> list[float]:
        """Call for ``seconds``, then wait for the calls in flight (the next phase starts quiet): their latencies."""
        with self.lock:
            self.latencies = []
            self.on.set()
        time.sleep(seconds)
        with self.lock:
            self.on.clear()
        while self.in_flight:
            time.sleep(0.01)
        with self.lock:
            return list(self.latencies)

    def close(self) -> None:
        self.done.set()
        for t in self.threads:
            t.join(30)


def default_run_form(epochs: int) -> dict:
    """The Train tab's form as a new page shows it (the default preset), with ``epochs`` so the run outlasts us."""
    values = initial_values(Limits())
    form = {f.name: values.get(f.name) for f in FIELDS if not f.optional}
    return form | {"zip_file": None, "folder": "", "epochs": epochs}


def train_phases(client: Client, clients: dict[int, Clients], seconds: float, slices: int, batch: int) -> dict:
    """The run alone, with 1 client and with 8, in ``slices`` interleaved windows (alone, 1, alone, 8, ...) so that
    the load of other processes, which drifts, hits each alike: img/s per phase (steps counted from a
    ``/train_status`` poll at each window's edge), latencies per phase."""
    steps = {"alone": 0, "busy1": 0, "busy8": 0}
    spent = dict.fromkeys(steps, 0.0)
    latencies: dict[str, list[float]] = {"busy1": [], "busy8": []}
    window = seconds / slices
    step, at = client.predict(api_name="/train_status")["step"], time.perf_counter()
    for _ in range(slices):
        for phase, n in (("alone", 0), ("busy1", 1), ("alone", 0), ("busy8", 8)):
            if n:
                latencies[phase] += clients[n].run_for(window)
            else:
                time.sleep(window / 2)  # alone twice per slice: as long in all as each phase with clients
            status = client.predict(api_name="/train_status")
            if status["state"] != "running":
                raise RuntimeError(f"the run is {status['state']}, not running: give it more epochs (--epochs)")
            now = time.perf_counter()
            steps[phase] += status["step"] - step
            spent[phase] += now - at
            step, at = status["step"], now
    speeds = {phase: steps[phase] * batch / spent[phase] for phase in steps}
    return {"alone": speeds["alone"], "speed1": speeds["busy1"], "speed8": speeds["busy8"], **latencies}


def wait_for_page(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Studio exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the Studio did not answer within {timeout} s")


def measure(variant: str, seconds: float, slices: int, epochs: int, nice: int) -> dict:
    """One variant: a fresh Studio, idle latencies, then the run alone and with 1 and 8 clients, interleaved."""
    name, _, own_nice = variant.partition(":")  # "ours:5": ours with nice 5
    with_nice, threads = VARIANTS[name]
    nice = int(own_nice) if own_nice else nice
    port, runs = free_port(), tempfile.mkdtemp(prefix="bench_server_load_")
    argv = [sys.executable, "-c", CHILD, str(port), runs, str(nice if with_nice else 0), str(int(threads))]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    clients: dict[int, Clients] = {}
    try:
        wait_for_page(url, proc)
        client = Client(url, verbose=False)
        clients = {1: Clients(url, 1), 8: Clients(url, 8)}
        clients[1].run_for(3.0)  # torch, the checkpoint and the first call's costs, outside the figures
        out = {"idle1": clients[1].run_for(seconds), "idle8": clients[8].run_for(seconds)}
        form = default_run_form(epochs)
        client.predict(**form, api_name="/train_start")
        while client.predict(api_name="/train_status")["state"] != "running":
            time.sleep(0.5)
        time.sleep(3.0)  # past the first steps (their one-off costs)
        out |= train_phases(client, clients, seconds, slices, int(form["batch_size"]))
        client.predict(api_name="/train_stop")
        return out
    finally:
        for c in clients.values():
            c.close()
            if c.errors:
                print(f"{variant}: {c.errors} failed /sample call(s) left out, the last: {c.last_error}", flush=True)
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def summary(rounds: list[dict]) -> dict[str, float]:
    """Medians over rounds of each phase's p50 / p95 (seconds) and the run's img/s and share kept."""
    row: dict[str, float] = {}
    for phase in ("idle1", "idle8", "busy1", "busy8"):
        row[f"{phase}_p50"] = statistics.median(percentile(r[phase], 0.5) for r in rounds)
        row[f"{phase}_p95"] = statistics.median(percentile(r[phase], 0.95) for r in rounds)
        row[f"{phase}_n"] = statistics.median(len(r[phase]) for r in rounds)
    alone = [r["alone"] for r in rounds]
    row["alone"] = statistics.median(alone)
    for n in ("1", "8"):
        row[f"keep{n}"] = statistics.median(r[f"speed{n}"] / a for r, a in zip(rounds, alone, strict=True))
    return row


def print_table(rows: dict[str, dict[str, float]]) -> None:
    head = (
        f"{'variant':10}{'idle 1c p50/p95':>18}{'idle 8c p50/p95':>18}{'train 1c p50/p95':>19}"
        f"{'train 8c p50/p95':>19}{'img/s alone':>13}{'keeps 1c':>10}{'keeps 8c':>10}"
    )
    print(head)
    for name, r in rows.items():
        pair = {
            phase: f"{r[phase + '_p50']:.2f} / {r[phase + '_p95']:.2f}"
            for phase in ("idle1", "idle8", "busy1", "busy8")
        }
        print(
            f"{name:10}{pair['idle1']:>18}{pair['idle8']:>18}{pair['busy1']:>19}{pair['busy8']:>19}"
            f"{r['alone']:>13.0f}{r['keep1']:>10.0%}{r['keep8']:>10.0%}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--variants",
        default="baseline,ours",
        help=f"comma-separated, of {', '.join(VARIANTS)}; NAME:N sets the nice increment N (ours:5)",
    )
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    p.add_argument("--slices", type=int, default=4, help="interleaved windows of the training phases")
    p.add_argument("--nice", type=int, default=STUDIO_NICE, help="the nice increment of the nice and ours variants")
    p.add_argument("--epochs", type=int, default=600, help="the run's epochs (the preset's 60 may end too soon)")
    args = p.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = {v.partition(":")[0] for v in variants} - set(VARIANTS)
    if unknown:
        p.error(f"unknown variant(s) {', '.join(sorted(unknown))}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs", flush=True)
    results: dict[str, list[dict]] = {v: [] for v in variants}
    for i in range(args.rounds):
        for variant in variants:
            started = time.perf_counter()
            results[variant].append(measure(variant, args.seconds, args.slices, args.epochs, args.nice))
            r = summary(results[variant][-1:])
            print(
                f"round {i + 1} {variant}: idle p95 {r['idle1_p95']:.2f} / {r['idle8_p95']:.2f} s, training p95 "
                f"{r['busy1_p95']:.2f} / {r['busy8_p95']:.2f} s (1 / 8 clients), run {r['alone']:.0f} img/s alone, "
                f"keeps {r['keep1']:.0%} / {r['keep8']:.0%} ({time.perf_counter() - started:.0f} s; load "
                f"{os.getloadavg()[0]:.2f})",
                flush=True,
            )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print_table({v: summary(rs) for v, rs in results.items()})


if __name__ == "__main__":
    main()

"""How fast does a Directions slider answer? One move, timed as the Studio will do it, on the CPU at 32x32.

A move = ``directions.render`` (steer z along the sliders' amounts, G forward for one sample, the uint8
conversion), the nearest-neighbour enlargement to the display size (256 px) and the PNG encode Gradio does for a
``gr.Image(format="png")``. Also times the one-off work per checkpoint: ``principal_directions`` (4,096 samples,
GANSpace) and ``class_directions`` (4,096 samples through G and the digits classifier), and the save/load of a
directions file.

    python bench/directions.py                        # the shipped digits32 generator, 100 moves
    python bench/directions.py --moves 300 --no-labels
    OMP_WAIT_POLICY=PASSIVE python bench/directions.py   # OpenMP threads sleep instead of spinning when idle

Moves are timed twice: with torch's thread setting and with ``render(..., threads=1)``.

Target: a slider move answers in at most 150 ms (p95) on the CPU at 32x32.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from dcgan_studio.checkpoint import load_generator  # noqa: E402
from dcgan_studio.directions import (  # noqa: E402
    class_directions,
    combine,
    load_directions,
    principal_directions,
    render,
    save_directions,
)
from dcgan_studio.latent import sample_z  # noqa: E402

DISPLAY_SIDE = 256  # the Studio enlarges single images to at least this side


def png_bytes(image: torch.Tensor) -> bytes:
    """uint8 (C, H, W) enlarged (nearest neighbour) to DISPLAY_SIDE and encoded as PNG."""
    factor = max(1, -(-DISPLAY_SIDE // image.shape[-1]))
    big = image.repeat_interleave(factor, -1).repeat_interleave(factor, -2)
    arr = big.permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr).save(buf, format="png")
    return buf.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "digits32.safetensors"))
    ap.add_argument("--moves", type=int, default=100)
    ap.add_argument("--samples", type=int, default=4096, help="samples for the one-off directions")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--no-labels", action="store_true", help="skip class_directions (needs the digits classifier)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    G = load_generator(args.checkpoint)
    cfg = G.config
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU ({os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.1f}), OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}"
    )
    print(
        f"G {Path(args.checkpoint).name}: {cfg.image_size}x{cfg.image_size}x{cfg.channels}, nz {cfg.nz}, ngf {cfg.ngf}"
    )

    # ---- one-off, per checkpoint
    principal_directions(G, n_samples=256, k=8, seed=0)  # warm-up (first-call allocations)
    t0 = time.perf_counter()
    pca = principal_directions(G, n_samples=args.samples, k=8, seed=0, checkpoint=args.checkpoint)
    t_pca = time.perf_counter() - t0
    print(
        f"principal_directions({args.samples} samples, k=8): {t_pca:.2f} s; "
        f"explained {', '.join(f'{v:.3f}' for v in pca.explained.tolist())}; "
        f"scales {min(pca.scales.tolist()):.3f}..{max(pca.scales.tolist()):.3f}"
    )
    dirs = pca
    if not args.no_labels:
        from dcgan_studio.metrics.classifier import load_classifier

        t0 = time.perf_counter()
        labels = class_directions(G, load_classifier(), n_samples=args.samples, seed=0, checkpoint=args.checkpoint)
        print(f"class_directions({args.samples} samples): {time.perf_counter() - t0:.2f} s; {', '.join(labels.names)}")
        dirs = combine(pca, labels)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = save_directions(Path(tmp) / "dirs.safetensors", dirs)
        t_save = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_directions(path, expected_nz=cfg.nz)
        t_load = time.perf_counter() - t0
        print(
            f"save {1000 * t_save:.1f} ms, load {1000 * t_load:.1f} ms ({len(dirs)} directions, "
            f"{path.stat().st_size:,} bytes)"
        )

    # ---- a slider move: one amount changes, the image is redrawn (render = steer + G forward + uint8)
    for threads in (None, 1):
        move_latency(G, dirs, args.moves, threads)


def move_latency(G, dirs, moves: int, threads: int | None) -> None:
    z = sample_z(1, G.config.nz, seed=1)
    amounts = torch.zeros(len(dirs))
    g = torch.Generator().manual_seed(0)
    times, stages = [], {"render": [], "png": []}
    for i in range(moves + 5):  # the first 5 are warm-up
        amounts[int(torch.randint(len(dirs), (1,), generator=g))] = float(torch.empty(1).uniform_(-3, 3, generator=g))
        t0 = time.perf_counter()
        image = render(G, z, dirs, amounts, threads=threads)[0]
        t1 = time.perf_counter()
        png_bytes(image)
        t2 = time.perf_counter()
        if i >= 5:
            times.append(t2 - t0)
            stages["render"].append(t1 - t0)
            stages["png"].append(t2 - t1)
    ms = [1000 * t for t in times]
    label = f"threads={threads}" if threads else f"threads=None ({torch.get_num_threads()})"
    print(
        f"slider move, render {label} ({moves} moves, {len(dirs)} sliders): p50 {percentile(ms, 50):.2f} ms, "
        f"p95 {percentile(ms, 95):.2f} ms, max {max(ms):.2f} ms  (target: <= 150 ms)"
    )
    print("  per stage, p50: " + ", ".join(f"{k} {1000 * statistics.median(v):.2f} ms" for k, v in stages.items()))


if __name__ == "__main__":
    main()

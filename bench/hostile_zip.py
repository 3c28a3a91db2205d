"""What a small hostile zip costs the server: the issue's 13 kB zip of 30 blank 6000x6000 16-bit PNGs.

    python bench/hostile_zip.py [--images 30] [--side 6000] [--old-rev HEAD~1]

Builds the zip in a temporary folder, then reads it as the Train tab does (``data.load_image_zip`` at 32x32, one
channel: every accepted image decoded, scaled to 8 bits and resized) once per case, each case in a fresh process:

* **core**: the core's default ``ZipLimits`` (what the CLI reads with, and what a public Studio used before issue 17);
* **public**: ``settings.zip_limits(Limits.for_mode(True))``, what a public Studio (a Space) reads an upload with;
* **old core** (with ``--old-rev REV``): the core defaults with ``dcgan_studio/safe_zip.py`` as it was at git
  revision REV (``git show``; nothing in the checkout changes), to measure the decoding before this change.

Printed per case: the images accepted, the members skipped by rule, the wall time of the read, tracemalloc's peak
(numpy's arrays and Python's objects; not Pillow's own pixel buffers) and the growth of the process's peak RSS
(``ru_maxrss``) during the read, which counts everything.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

CASES = ("core", "public")


def build_zip(path: Path, images: int, side: int) -> Path:
    """``images`` copies of one blank ``side`` x ``side`` 16-bit PNG: each a few dozen kB, each 2*side^2 B decoded."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("I;16", (side, side)).save(buf, "PNG", compress_level=9)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for i in range(images):
            zf.writestr(f"blank_{i:03d}.png", buf.getvalue())
    return path


def use_old_safe_zip(rev: str, folder: Path) -> None:
    """Import ``dcgan_studio.safe_zip`` from git revision ``rev`` (before anything imports the current one)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:dcgan_studio/safe_zip.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    file = folder / f"safe_zip_{rev.replace('/', '_').replace('~', '_')}.py"
    file.write_text(source)
    import dcgan_studio

    spec = importlib.util.spec_from_file_location("dcgan_studio.safe_zip", file)
    module = importlib.util.module_from_spec(spec)
    sys.modules["dcgan_studio.safe_zip"] = module
    spec.loader.exec_module(module)
    dcgan_studio.safe_zip = module


def measure(case: str, archive: Path, old_rev: str | None) -> dict:
    """Read ``archive`` under ``case``'s limits in this process: the figures as a dict."""
    if case == "old core":
        use_old_safe_zip(old_rev, archive.parent)
    from dcgan_studio.data import load_image_zip
    from dcgan_studio.safe_zip import ZipDatasetError, ZipLimits

    if case == "public":
        from dcgan_studio.app.settings import Limits, zip_limits

        limits = zip_limits(Limits.for_mode(True))
    else:
        limits = ZipLimits()
    skipped: list = []
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    tracemalloc.start()
    start = time.perf_counter()
    try:
        accepted, error = len(load_image_zip(archive, 32, 1, skipped, limits)), ""
    except ZipDatasetError as exc:
        accepted, error = 0, str(exc)[:100]
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "case": case,
        "accepted": accepted,
        "skipped": dict(collections.Counter(s.rule for s in skipped)),
        "seconds": seconds,
        "tracemalloc_peak_mib": peak / 2**20,
        "rss_growth_mib": (rss_after - rss_before) / 1024,
        "error": error,
    }


def run_case(case: str, archive: Path, old_rev: str | None) -> dict:
    """``measure`` in a fresh process, so one case's peak RSS does not hide the next one's."""
    argv = [sys.executable, __file__, "--measure", case, "--zip", str(archive)]
    if old_rev:
        argv += ["--old-rev", old_rev]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=30, help="blank PNGs in the zip (the issue's: 30)")
    parser.add_argument("--side", type=int, default=6000, help="their width and height (the issue's: 6000)")
    parser.add_argument("--old-rev", help="also read with safe_zip.py as of this git revision (e.g. HEAD~1)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: one case, in this process
    parser.add_argument("--zip", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.zip, args.old_rev)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        archive = build_zip(Path(tmp) / "hostile.zip", args.images, args.side)
        decoded_mib = args.images * args.side**2 * 2 / 2**20
        print(
            f"{archive.name}: {archive.stat().st_size / 1024:.1f} kB, {args.images} blank {args.side}x{args.side} "
            f"16-bit PNGs ({decoded_mib:,.0f} MiB of 16-bit pixels decoded in all)"
        )
        cases = (["old core"] if args.old_rev else []) + list(CASES)
        rows = [run_case(case, archive, args.old_rev) for case in cases]
    print(f"{'case':<10} {'accepted':>8} {'seconds':>8} {'tracemalloc MiB':>16} {'RSS growth MiB':>15}  skipped")
    for r in rows:
        skipped = ", ".join(f"{n} {rule}" for rule, n in r["skipped"].items()) or "-"
        print(
            f"{r['case']:<10} {r['accepted']:>8} {r['seconds']:>8.2f} {r['tracemalloc_peak_mib']:>16.1f} "
            f"{r['rss_growth_mib']:>15.1f}  {skipped}"
        )
        if r["error"]:
            print(f"{'':<10} refused: {r['error']}")


if __name__ == "__main__":
    main()

"""Our training step against the textbook loop, side by side in one process.

    python bench/train_step.py                       # both cases, CPU or the GPU if there is one
    python bench/train_step.py --case 64 --iters 6   # one case, more timed steps
    python bench/train_step.py --variants plain,ours,ours-nchw,ours-bf16   # ablations

Variants (all on the same model sizes, the same init weights and the same data):
  plain       pytorch/examples dcgan/main.py: Sigmoid at the end of D + nn.BCELoss, a ``.item()`` per metric per
              step, float32, NCHW, the data as float tensors through a DataLoader, D's weight gradients computed
              in the G step, default Adam;
  ours        ``dcgan_studio.step.GANStep`` with the defaults the Trainer uses on this device
              (``dcgan_studio.step.SPEED_DEFAULTS``), uint8 data resident on the device, metrics read once;
  ours-*      ours with one setting changed: -nchw (no channels_last), -nofreeze (D weight grads in the G step),
              -foreach (foreach Adam instead of fused), -bf16 (bf16 autocast), -compile (torch.compile of G and D).

For each variant: img/s (median over rounds; plain and ours alternate round by round so load from other processes
hits both alike), FLOPs of one step (torch.utils.flop_counter), achieved FLOP/s as a fraction of a large float32
matmul measured in the same run, and peak memory (CUDA: max_memory_allocated; CPU: peak RSS while the variant ran,
from /proc/self/status VmHWM after resetting it). It also runs the plain loop and ours on the same batches and
the same noise from the same weights and prints how far their losses drift apart. Writes bench/results/*.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dcgan_studio.config import ModelConfig  # noqa: E402
from dcgan_studio.data import iterate_batches, load_digits, to_unit_range  # noqa: E402
from dcgan_studio.models import build_models  # noqa: E402
from dcgan_studio.step import GANStep, make_adam, prepare_models, speed_options  # noqa: E402

CASES = {
    "32": dict(
        model=ModelConfig(image_size=32, channels=1, ngf=64, ndf=64), batch=128, name="32x32 digits, 1 ch, batch 128"
    ),
    "64": dict(model=ModelConfig(image_size=64, channels=3, ngf=64, ndf=64), batch=128, name="64x64, 3 ch, batch 128"),
}
LR, BETAS = 2e-4, (0.5, 0.999)
TRACK_STEPS_CPU = {"32": 10, "64": 3}


# --------------------------------------------------------------------------------------- the textbook plain loop


class PlainLoop:
    """The loop of pytorch/examples dcgan/main.py, on our architecture with a Sigmoid appended to D."""

    def __init__(self, G: nn.Module, D: nn.Module, nz: int, images_uint8: torch.Tensor, batch: int, device, seed=0):
        self.netG = G
        self.netD = nn.Sequential(D.main, nn.Flatten(0), nn.Sigmoid())  # main.py's D ends in nn.Sigmoid
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=LR, betas=BETAS)
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=LR, betas=BETAS)
        self.nz, self.device = nz, device
        # main.py: ToTensor + Normalize in a Dataset, batched by a DataLoader; here the images are float32 already
        # (the per-image decode it also pays is left out, which flatters the plain loop)
        dataset = torch.utils.data.TensorDataset(to_unit_range(images_uint8.cpu()))
        gen = torch.Generator().manual_seed(seed)
        self.loader = torch.utils.data.DataLoader(
            dataset, batch_size=batch, shuffle=True, drop_last=True, generator=gen
        )
        self._it = iter(self.loader)

    def next_batch(self) -> torch.Tensor:
        try:
            (x,) = next(self._it)
        except StopIteration:
            self._it = iter(self.loader)
            (x,) = next(self._it)
        return x

    def step(self, real_cpu: torch.Tensor | None = None, noise: torch.Tensor | None = None) -> tuple[float, ...]:
        real_label, fake_label = 1.0, 0.0
        if real_cpu is None:
            real_cpu = self.next_batch()
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        self.netD.zero_grad()
        real_cpu = real_cpu.to(self.device)
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=self.device)
        output = self.netD(real_cpu)
        errD_real = self.criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        if noise is None:
            noise = torch.randn(batch_size, self.nz, 1, 1, device=self.device)
        fake = self.netG(noise)
        label.fill_(fake_label)
        output = self.netD(fake.detach())
        errD_fake = self.criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()
        # (2) Update G network: maximize log(D(G(z)))
        self.netG.zero_grad()
        label.fill_(real_label)
        output = self.netD(fake)
        errG = self.criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()
        return errD.item(), errG.item(), D_x, D_G_z1, D_G_z2


# --------------------------------------------------------------------------------------------------- our step


def build_ours(G, D, nz, images_uint8, batch, device, opts: dict, seed=0):
    prepare_models(G, D, channels_last=opts["channels_last"])
    opt_g = make_adam(G.parameters(), LR, BETAS, opts["fused_adam"])
    opt_d = make_adam(D.parameters(), LR, BETAS, opts["fused_adam"])
    Gs, Ds = G, D
    if opts["compile"]:
        Gs, Ds = torch.compile(G, dynamic=False), torch.compile(D, dynamic=False)
    noise_gen = torch.Generator(device=device).manual_seed(seed)
    step = GANStep(
        Gs,
        Ds,
        opt_g,
        opt_d,
        nz,
        noise_gen,
        speed={"channels_last": opts["channels_last"], "amp": opts["amp"]},
        freeze_d_in_g_step=opts["freeze"],
    )
    images = images_uint8.to(device)
    state = {"epoch": 0, "it": iter(())}

    def next_batch():
        for _ in range(2):
            for real in state["it"]:
                return real
            state["it"] = iterate_batches(images, batch, seed, state["epoch"])
            state["epoch"] += 1
        raise RuntimeError("no batch")

    return step, next_batch


def variant_options(name: str, device: torch.device) -> dict:
    opts = speed_options({}, device)
    opts["freeze"] = True
    for part in name.split("-")[1:]:
        if part == "nchw":
            opts["channels_last"] = False
        elif part == "cl":
            opts["channels_last"] = True
        elif part == "nofreeze":
            opts["freeze"] = False
        elif part == "foreach":
            opts["fused_adam"] = False
        elif part == "fused":
            opts["fused_adam"] = True
        elif part == "bf16":
            opts["amp"] = "bf16"
        elif part == "fp32":
            opts["amp"] = "off"
        elif part == "compile":
            opts["compile"] = True
        else:
            raise SystemExit(f"unknown variant part {part!r} in {name!r}")
    return opts


# -------------------------------------------------------------------------------------------------- measuring


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def reset_peak(device):
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    else:
        try:  # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) of this process
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass


def peak_mib(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # whole-process peak (KiB on Linux)


def matmul_limit(device, dtype=torch.float32, n=None, reps=None) -> float:
    """Best FLOP/s of a large square matmul: the machine's practical ceiling for dense math in ``dtype``."""
    n = n or (8192 if device.type == "cuda" else 2048)
    reps = reps or (20 if device.type == "cuda" else 10)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    torch.matmul(a, b)
    sync(device)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        torch.matmul(a, b)
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def count_flops(fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def tracking(case: dict, device, steps: int, opts: dict, seed: int = 0) -> dict:
    """Plain loop and our step from the same weights, on the same batches with the same noise: loss drift."""
    mcfg, batch = case["model"], case["batch"]
    torch.manual_seed(seed)
    G0, D0 = build_models(mcfg)
    images = load_digits(mcfg.image_size, mcfg.channels).images
    plain = PlainLoop(copy.deepcopy(G0).to(device), copy.deepcopy(D0).to(device), mcfg.nz, images, batch, device)
    opts = {**opts, "compile": False}
    ours, _ = build_ours(
        copy.deepcopy(G0).to(device), copy.deepcopy(D0).to(device), mcfg.nz, images, batch, device, opts
    )
    g_plain = torch.Generator(device=device).manual_seed(seed + 7)
    ours.noise_generator = torch.Generator(device=device).manual_seed(seed + 7)
    rows = []
    for i, real in enumerate(iterate_batches(images.to(device), batch, seed, 0)):
        if i == steps:
            break
        noise = torch.randn(batch, mcfg.nz, 1, 1, device=device, generator=g_plain)
        p = plain.step(to_unit_range(real), noise)
        o = ours(real).tolist()
        rows.append((p, o))
    names = ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2")
    drift = {n: max(abs(p[k] - o[k]) for p, o in rows) for k, n in enumerate(names)}
    return {"steps": len(rows), "max_abs_diff": drift, "plain_last": rows[-1][0], "ours_last": rows[-1][1]}


def run_case(key: str, args, device) -> dict:
    case = CASES[key]
    mcfg, batch = case["model"], case["batch"]
    torch.manual_seed(args.seed)
    G0, D0 = build_models(mcfg)
    images = load_digits(mcfg.image_size, mcfg.channels).images
    print(f"\n== case {key}: {case['name']} (ngf={mcfg.ngf}, ndf={mcfg.ndf}, nz={mcfg.nz}), {len(images)} images")

    runners, results = {}, {}
    for name in args.variants:
        G, D = copy.deepcopy(G0).to(device), copy.deepcopy(D0).to(device)
        reset_peak(device)
        if name == "plain":
            loop = PlainLoop(G, D, mcfg.nz, images, batch, device, args.seed)
            fn, finish = loop.step, (lambda: None)
        else:
            opts = variant_options(name, device)
            step, next_batch = build_ours(G, D, mcfg.nz, images, batch, device, opts, args.seed)
            last = {}

            def fn(step=step, next_batch=next_batch, last=last):
                last["m"] = step(next_batch())

            def finish(last=last):
                if "m" in last:
                    last["m"].cpu()  # the one read of the metrics (a sync)

        t0 = time.perf_counter()
        flops = count_flops(fn)  # one step, counted (also the first warm-up step)
        for _ in range(args.warmup):
            fn()
        finish()
        sync(device)
        runners[name] = (fn, finish)
        results[name] = {"flops_per_step": flops, "warmup_s": time.perf_counter() - t0, "times": [], "peak_mib": 0.0}

    round_limits = []
    for _ in range(args.rounds):  # alternate the variants round by round
        # the matmul limit again in every round, next to the steps it is compared with: on a shared machine other
        # processes slow both alike, so the fraction stays meaningful when absolute speeds do not
        round_limits.append({k: matmul_limit(device, dt, reps=3) for k, dt in args.limit_dtypes.items()})
        for name, (fn, finish) in runners.items():
            reset_peak(device)  # CUDA; on the CPU the per-variant figure comes from _memory_probe
            sync(device)
            t = time.perf_counter()
            for _ in range(args.iters):
                fn()
            finish()
            sync(device)
            results[name]["times"].append((time.perf_counter() - t) / args.iters)
            results[name]["peak_mib"] = max(results[name]["peak_mib"], peak_mib(device))

    if device.type == "cpu" and not args.no_memory:  # RSS is per process: measure each variant in its own
        for name in results:
            results[name].update(_memory_probe(key, name, args))
    for name, r in results.items():
        r["step_s"] = statistics.median(r["times"])
        r["img_per_s"] = batch / r["step_s"]
        r["best_img_per_s"] = batch / min(r["times"])  # the least disturbed round (timeit's rule on a shared machine)
        r["flop_per_s"] = r["flops_per_step"] / r["step_s"]
        kind = "bf16" if name != "plain" and variant_options(name, device)["amp"] == "bf16" else "fp32"
        r["limit"] = kind
        r["fraction_of_round_limit"] = statistics.median(
            r["flops_per_step"] / t / lim[kind] for t, lim in zip(r["times"], round_limits, strict=True)
        )
    return {
        "case": key,
        "name": case["name"],
        "model": mcfg.to_dict(),
        "batch": batch,
        "variants": results,
        "round_limits_flop_s": round_limits,
    }


def _rss_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _memory_probe(key: str, name: str, args) -> dict:
    """CPU peak memory of one variant, in a fresh process: peak RSS over 2 steps, and that minus the RSS before the
    models were built (torch, the data and the interpreter are the rest)."""
    import subprocess

    cmd = [sys.executable, __file__, "--memory-probe", f"{key}:{name}", "--seed", str(args.seed)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"peak_mib": float("nan"), "memory_probe_error": str(exc)[:200]}


def _memory_probe_main(spec: str, seed: int) -> int:
    key, name = spec.split(":", 1)
    device = torch.device("cpu")
    mcfg, batch = CASES[key]["model"], CASES[key]["batch"]
    images = load_digits(mcfg.image_size, mcfg.channels).images
    torch.manual_seed(seed)
    before = _rss_mib("VmRSS")
    G, D = build_models(mcfg)
    if name == "plain":
        fn = PlainLoop(G, D, mcfg.nz, images, batch, device, seed).step
    else:
        step, next_batch = build_ours(G, D, mcfg.nz, images, batch, device, variant_options(name, device), seed)

        def fn():
            step(next_batch()).tolist()

    for _ in range(2):
        fn()
    peak = _rss_mib("VmHWM")
    print(json.dumps({"peak_mib": peak, "peak_over_base_mib": peak - before, "base_mib": before}))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", choices=[*CASES, "all"], default="all")
    p.add_argument(
        "--variants",
        default="plain,ours",
        help="comma list: plain, ours, ours-nchw, ours-nofreeze, ours-foreach, ours-bf16, ours-compile",
    )
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="warm-up steps per variant after the counted one (default: CPU 1, GPU 20)",
    )
    p.add_argument("--iters", type=int, default=None, help="timed steps per round (default: CPU 2, GPU 50)")
    p.add_argument(
        "--rounds", type=int, default=None, help="rounds; variants alternate per round (default: CPU 3, GPU 5)"
    )
    p.add_argument(
        "--track-steps",
        type=int,
        default=None,
        help="steps of the loss-tracking check, 0 = skip (default: CPU 10 at 32px, 3 at 64px; GPU 50)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--no-memory", action="store_true", help="CPU: skip the per-variant peak-RSS probes (one process each)"
    )
    p.add_argument("--memory-probe", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help="JSON path (default: bench/results/train_step-<device>-<time>.json)")
    args = p.parse_args(argv)
    if args.memory_probe:
        return _memory_probe_main(args.memory_probe, args.seed)

    from dcgan_studio.train import resolve_device

    device = resolve_device(args.device)
    cpu = device.type == "cpu"
    args.warmup = args.warmup if args.warmup is not None else (1 if cpu else 20)
    args.iters = args.iters or (2 if cpu else 50)
    args.rounds = args.rounds or (3 if cpu else 5)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    machine = _machine(device)
    print(
        "peak MiB: CUDA max_memory_allocated; CPU peak RSS of a fresh process running 2 steps of the variant alone"
        " (step MiB: that peak minus the RSS before the models were built)"
    )
    print("img/s: median of rounds; best: the fastest round")
    print("of limit: achieved FLOP/s over a large matmul's, both measured in the same round (median of rounds)")
    print(
        f"device: {machine['device']} | torch {torch.__version__} | threads {torch.get_num_threads()}"
        f" | load {machine['loadavg']}"
    )
    want_bf16 = any(v != "plain" and variant_options(v, device)["amp"] == "bf16" for v in args.variants)
    dtypes = {"fp32": torch.float32, **({"bf16": torch.bfloat16} if want_bf16 else {})}

    def measure_limits(limits: dict) -> dict:  # best of several tries: other processes only ever slow it down
        return {k: max(limits.get(k, 0.0), matmul_limit(device, dt)) for k, dt in dtypes.items()}

    args.limit_dtypes = dtypes
    limits = measure_limits({})
    print("matmul limit: " + ", ".join(f"{k} {v / 1e12:.3f} TFLOP/s" for k, v in limits.items()))

    cases = list(CASES) if args.case == "all" else [args.case]
    report = {
        "machine": machine,
        "matmul_limit_flop_s": limits,
        "args": {k: v for k, v in vars(args).items() if k != "limit_dtypes"},
        "cases": [],
    }
    for key in cases:
        res = run_case(key, args, device)
        limits = measure_limits(limits)  # again after each case; the table uses the best seen so far
        track = args.track_steps if args.track_steps is not None else (TRACK_STEPS_CPU[key] if cpu else 50)
        if track:
            ours_name = next((v for v in args.variants if v != "plain"), "ours")
            res["tracking"] = tracking(CASES[key], device, track, variant_options(ours_name, device), args.seed)
        report["cases"].append(res)
        _print_table(res, limits, device)
    report["matmul_limit_flop_s"] = limits
    report["machine"]["loadavg_end"] = os.getloadavg()

    out = (
        Path(args.out)
        if args.out
        else ROOT / "bench" / "results" / f"train_step-{device.type}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwrote {out}")
    return 0


def _print_table(res: dict, limits: dict, device) -> None:
    v = res["variants"]
    base = v.get("plain", {}).get("img_per_s")
    print(
        f"{'variant':<18}{'img/s':>9}{'x plain':>9}{'best':>8}{'x plain':>9}{'GFLOP/step':>12}{'GFLOP/s':>9}"
        f"{'of limit':>14}{'peak MiB':>10}{'step MiB':>10}"
    )
    for name, r in v.items():
        r["fraction_of_best_limit"] = r["flop_per_s"] / limits[r["limit"]]
        ratio = f"{r['img_per_s'] / base:.2f}x" if base else "-"
        best_ratio = f"{r['best_img_per_s'] / v['plain']['best_img_per_s']:.2f}x" if base else "-"
        print(
            f"{name:<18}{r['img_per_s']:>9.1f}{ratio:>9}{r['best_img_per_s']:>8.1f}{best_ratio:>9}"
            f"{r['flops_per_step'] / 1e9:>12.1f}{r['flop_per_s'] / 1e9:>9.1f}"
            f"{r['fraction_of_round_limit']:>9.0%} {r['limit']:>4}{r['peak_mib']:>10.0f}"
            f"{r.get('peak_over_base_mib', float('nan')):>10.0f}"
        )
    if base and "ours" in v:
        print(
            f"ours / plain: {v['ours']['img_per_s'] / base:.2f}x (medians), "
            f"{v['ours']['best_img_per_s'] / v['plain']['best_img_per_s']:.2f}x (best rounds)"
        )
    if "tracking" in res:
        t = res["tracking"]
        diffs = ", ".join(f"{k} {d:.1e}" for k, d in t["max_abs_diff"].items())
        print(f"loss tracking over {t['steps']} steps (same weights, batches, noise), max |plain - ours|: {diffs}")


def _machine(device) -> dict:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU {model} x{os.cpu_count()}"
    return {
        "device": name,
        "cpu": model,
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "loadavg": os.getloadavg(),
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }


if __name__ == "__main__":
    sys.exit(main())

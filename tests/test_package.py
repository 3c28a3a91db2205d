"""DCGAN Studio is a real package: its metadata agrees with the requirements files, its console script and
``python -m dcgan_studio`` run, and the whole repository passes ruff with the configuration in pyproject.toml."""

import importlib
import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib  # the standard library from Python 3.11
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli", reason="reading pyproject.toml on Python 3.10 needs tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements(path: Path) -> dict[str, Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    reqs = [Requirement(line) for line in lines if line]
    return {canonicalize_name(r.name): r for r in reqs}


def _by_name(specs: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, specs)}


def _pinned(req: Requirement) -> Version:
    (spec,) = req.specifier
    assert spec.operator == "==", f"requirements.txt pins {req.name} exactly"
    return Version(spec.version)


def test_pyproject_dependencies_name_the_same_packages_as_requirements_txt():
    assert set(_by_name(PYPROJECT["project"]["dependencies"])) == set(_requirements(ROOT / "requirements.txt"))
    assert "huggingface-hub" in _by_name(PYPROJECT["project"]["dependencies"])  # asked for, not left to gradio


def test_dev_extra_names_the_same_packages_as_requirements_dev_txt():
    dev = _by_name(PYPROJECT["project"]["optional-dependencies"]["dev"])
    assert set(dev) == set(_requirements(ROOT / "requirements-dev.txt"))


def test_requirements_txt_pins_satisfy_pyproject():
    declared = _by_name(PYPROJECT["project"]["dependencies"])
    for name, req in _requirements(ROOT / "requirements.txt").items():
        versions = [Version(s.version) for s in req.specifier]
        for version in versions:
            assert declared[name].specifier.contains(version, prereleases=True), (name, str(declared[name]))


def test_torch_and_torchvision_are_asked_for_as_a_pair():
    """torchvision 0.N is built for torch 2.(N-15); the bounds of the range and the pinned pair must match."""
    declared = _by_name(PYPROJECT["project"]["dependencies"])
    pinned = _requirements(ROOT / "requirements.txt")
    torch_pin, vision_pin = _pinned(pinned["torch"]), _pinned(pinned["torchvision"])
    assert torch_pin <= Version("2.14.1") and vision_pin.minor == torch_pin.minor + 15
    bounds = {}
    for name in ("torch", "torchvision"):
        bounds[name] = {s.operator: Version(s.version) for s in declared[name].specifier}
        assert set(bounds[name]) == {">=", "<="}, f"{name}: a lower and an upper bound"
    for op in (">=", "<="):
        assert bounds["torchvision"][op].minor == bounds["torch"][op].minor + 15
    assert bounds["torch"]["<="] <= Version("2.14.1")


def test_console_script_points_at_a_callable():
    target = PYPROJECT["project"]["scripts"]["dcgan-studio"]
    module, _, attr = target.partition(":")
    assert callable(getattr(importlib.import_module(module), attr))


@pytest.mark.slow  # a fresh interpreter
def test_python_m_dcgan_studio_help_exits_0():
    result = subprocess.run(
        [sys.executable, "-m", "dcgan_studio", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()


def _ruff() -> list[str] | None:
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    exe = shutil.which("ruff")
    return [exe] if exe else None


def test_ruff_is_clean_on_the_whole_repository():
    """The whole repository passes `ruff check` with pyproject.toml's rules (issue 11: lint is part of the suite)."""
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -r requirements-dev.txt)")
    result = subprocess.run([*ruff, "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_pyproject_lists_every_package_folder():
    """The package list is explicit (checkpoints/ is mapped into it): a new subpackage must be added there."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "dcgan_studio").rglob("__init__.py")}
    assert listed == found | {"dcgan_studio.checkpoints"}
    assert PYPROJECT["tool"]["setuptools"]["package-dir"]["dcgan_studio.checkpoints"] == "checkpoints"


BUILD_OUTPUTS = (".git", "build", "dist", "*.egg-info", "__pycache__", "runs", "outputs", "eval", ".venv", "venv")


@pytest.mark.slow
def test_the_wheel_works_from_an_empty_folder(tmp_path):
    """pip install of the wheel into a fresh venv (the test environment's packages reused, nothing downloaded):
    ``sample`` and ``eval`` find the shipped generator and classifier in the package, not in a checkout."""
    dist = tmp_path / "dist"
    # built from a copy of the source tree without build outputs: setuptools reuses a stale build/lib of the checkout
    source = shutil.copytree(ROOT, tmp_path / "source", ignore=shutil.ignore_patterns(*BUILD_OUTPUTS))
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), "."]
    subprocess.run(build, cwd=source, check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("dcgan_studio-*.whl")
    with zipfile.ZipFile(wheel) as zf:  # the shipped generator's run folder travels with it (the Train tab shows it)
        run = {n.removeprefix("dcgan_studio/checkpoints/digits32-run/") for n in zf.namelist() if "digits32-run/" in n}
    assert {"config.json", "metrics.csv", "timelapse.gif"} <= run and any(n.startswith("samples/") for n in run), run
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)]
    subprocess.run(pip, check=True, capture_output=True, timeout=300)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)}
    script = str(venv / "bin" / "dcgan-studio")

    def cli(*args):
        res = subprocess.run([script, *args], cwd=empty, env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr
        return res

    cli("sample", "--n", "16", "--out", "grid.png")
    assert (empty / "grid.png").stat().st_size > 1000
    cli("eval", "--no-probe", "--n", "200", "--out", "report")
    report = json.loads((empty / "report" / "report.json").read_text())
    assert report["classifier"]["available"], report["classifier"]
    assert "site-packages" in report["checkpoint"] and report["classifier"]["frechet"]["generated_vs_train"] > 0
    assert not (empty / "checkpoints").exists()

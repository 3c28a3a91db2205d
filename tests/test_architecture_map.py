"""docs/ARCHITECTURE.md cannot fall behind the package: every module has its row, every row names a module that
exists, and the imports run one way (no circle, deferred imports included)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dcgan_studio"
MAP = ROOT / "docs" / "ARCHITECTURE.md"

HEADING_FOLDER = re.compile(r"^## .*\(`(dcgan_studio/[\w/]*)`\)")
BACKTICKED = re.compile(r"`([^`]+)`")


def package_modules() -> set[str]:
    """Every module of the package, as a path from the repository root."""
    return {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")}


def mapped_modules(text: str) -> list[str]:
    """The modules the map's tables name, as paths from the repository root, by the map's own convention: in a
    section whose heading names a folder, the first cell of each table row names modules in backticks, by their path
    from that folder; a name without a folder, after one with a folder in the same cell, is in that folder."""
    found: list[str] = []
    folder = None
    for line in text.splitlines():
        if line.startswith("## "):
            match = HEADING_FOLDER.match(line)
            folder = match.group(1).rstrip("/") if match else None
            continue
        if folder is None or not line.startswith("|") or line.startswith("|---"):
            continue
        first_cell = line.split("|")[1]
        sub = ""
        for name in BACKTICKED.findall(first_cell):
            if not name.endswith(".py") or "*" in name:
                continue  # a folder row (`metrics/`) or a glob does not stand for its modules
            if "/" in name:
                sub = name.rpartition("/")[0]
            found.append(f"{folder}/{sub}/{name.rpartition('/')[2]}" if sub else f"{folder}/{name}")
    return found


def test_every_module_of_the_package_has_a_row_and_every_row_names_a_module():
    mapped = mapped_modules(MAP.read_text(encoding="utf-8"))
    modules = package_modules()
    missing = sorted(modules - set(mapped))
    gone = sorted(set(mapped) - modules)
    assert not missing, f"docs/ARCHITECTURE.md has no row for {missing}"
    assert not gone, f"docs/ARCHITECTURE.md names modules that do not exist: {gone}"


def test_the_convention_reads_folders_and_refuses_globs_and_package_rows():
    text = """## The core (`dcgan_studio/`)
| module | owns |
|---|---|
| `models.py` | x |
| `train/setup.py`, `state.py` | y |
| `metrics/` | a package row |
## The Studio (`dcgan_studio/app/`)
| `*_tab.py` | a glob |
| `studio.py` | z |
## A training run
| `loop.py` | not a map section |
"""
    assert mapped_modules(text) == [
        "dcgan_studio/models.py",
        "dcgan_studio/train/setup.py",
        "dcgan_studio/train/state.py",
        "dcgan_studio/app/studio.py",
    ]


# ------------------------------------------------------------------------------------------------- import circles


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(name: str, path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``name`` imports, at module level or inside functions (``TYPE_CHECKING`` blocks
    and the importing module's own parent packages left out)."""
    base = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in modules}
            continue
        package = base
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        target = (f"{package}.{node.module}" if node.module else package) if node.level else node.module
        out |= {target} & modules
        out |= {f"{target}.{a.name}" for a in node.names} & modules
    for target in list(out):  # importing a.b.c runs a.b first
        parts = target.split(".")
        out |= {".".join(parts[:i]) for i in range(1, len(parts))} & modules
    return {t for t in out if t != name and not name.startswith(t + ".")}


def _import_nodes(node: ast.AST):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        else:
            yield from _import_nodes(child)


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle a depth-first walk of ``graph`` meets (empty when the imports run one way)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    circles: list[list[str]] = []

    def walk(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                walk(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    return circles


def test_no_module_of_the_package_imports_itself_round_a_circle():
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: _imported(name, path, set(paths)) for name, path in paths.items()}
    assert graph["dcgan_studio.models"] >= {"dcgan_studio.hub.mixin"}  # the graph sees the imports it should
    assert import_circles(graph) == []


def test_a_circle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_circles(graph) == [["a", "b", "c", "a"]]


def undeclared_deferred_imports(source: str) -> list[int]:
    """Lines of imports inside functions whose group (the import lines run together) says no '# deferred:' reason,
    on one of its lines or the line above it."""
    lines = source.splitlines()
    bad: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Import, ast.ImportFrom)) and sub.lineno not in bad:
                first = sub.lineno - 1
                while first > 0 and lines[first - 1].strip().startswith(("from ", "import ")):
                    first -= 1
                said = any("# deferred:" in lines[i] for i in range(max(first - 1, 0), sub.end_lineno))
                if not said:
                    bad.append(sub.lineno)
    return bad


def test_every_deferred_import_says_why():
    """Imports go at the top unless start-up (the page before torch) or an optional extra needs them late."""
    missing = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in undeclared_deferred_imports(path.read_text(encoding="utf-8"))
    ]
    assert not missing, f"imports inside functions without a '# deferred:' reason: {missing}"
    sample = "def f():\n    import json\n\n\ndef g():\n    # deferred: start-up\n    import csv\n"
    assert undeclared_deferred_imports(sample) == [2]  # the check sees a bare one and accepts a declared one

"""The public Space's disk budget: what visitors' runs and uploads may take, and which runs go first to make room.

Public mode keeps each visitor's runs under ``runs/public/<key>/<run>/``. Before a new run starts (or an upload or
a Hub download is registered), ``make_room`` removes the oldest *finished* runs (by their newest file's time) until
what is on disk plus what is coming fits ``Limits.public_disk_mb``; a running run, or the one being resumed, is never
a candidate. Visitor folders that a restart orphaned (nothing written in them for ``Limits.public_grace_hours``) are
removed at start-up by ``orphaned_visitor_folders``. Sizes and choices are pure functions of what they are given;
only ``make_room`` and ``remove`` touch the disk.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

NEW_RUN_BYTES = 32 * 2**20  # room kept for a run about to start: a public run's checkpoints, grids and log
MB = 2**20


@dataclass(frozen=True)
class RunUsage:
    path: Path
    bytes: int
    mtime: float  # the newest file's modification time: when the run last wrote anything


def usage(folder: Path) -> RunUsage:
    """Bytes of every regular file under ``folder`` (symlinks not followed) and the newest modification time."""
    total, newest = 0, _mtime(folder)
    for root, _dirs, files in os.walk(folder, followlinks=False):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue  # removed while we looked
            total += st.st_size
            newest = max(newest, st.st_mtime)
    return RunUsage(folder, total, newest)


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def visitor_folders(public_root: Path) -> list[Path]:
    """``runs/public/<key>/`` folders (real folders only)."""
    if not public_root.is_dir():
        return []
    return sorted(p for p in public_root.iterdir() if p.is_dir() and not p.is_symlink())


def run_usages(public_root: Path) -> list[RunUsage]:
    """Every visitor run folder ``runs/public/<key>/<run>/`` with its size and last write."""
    return [
        usage(run)
        for visitor in visitor_folders(public_root)
        for run in sorted(visitor.iterdir())
        if run.is_dir() and not run.is_symlink()
    ]


def to_remove(runs: Iterable[RunUsage], budget_bytes: int, incoming_bytes: int, keep: Iterable[Path]) -> list[Path]:
    """The runs to delete, oldest first, so that the runs' bytes plus ``incoming_bytes`` (a new run, an upload, other
    files that count) fit ``budget_bytes``; runs in ``keep`` (running, being resumed) are never chosen. May not be
    enough: the caller checks ``fits`` afterwards."""
    runs = list(runs)
    kept = {_key(p) for p in keep}
    total = sum(r.bytes for r in runs) + incoming_bytes
    chosen: list[Path] = []
    for run in sorted((r for r in runs if _key(r.path) not in kept), key=lambda r: (r.mtime, str(r.path))):
        if total <= budget_bytes:
            break
        chosen.append(run.path)
        total -= run.bytes
    return chosen


def _key(path: Path) -> str:
    try:
        return str(Path(path).resolve())
    except OSError:
        return str(path)


def orphaned_visitor_folders(public_root: Path, now: float, grace_s: float) -> list[Path]:
    """Visitor folders with nothing written for ``grace_s`` seconds (at start-up no run of theirs is alive)."""
    return [folder for folder in visitor_folders(public_root) if now - usage(folder).mtime > grace_s]


def remove(paths: Iterable[Path]) -> list[Path]:
    removed = []
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


@dataclass(frozen=True)
class Room:
    removed: list[Path]
    used_bytes: int  # runs' bytes after the removals, plus the incoming bytes
    fits: bool


def make_room(public_root: Path, budget_bytes: int, incoming_bytes: int, keep: Iterable[Path] = ()) -> Room:
    """Delete the oldest finished runs until ``incoming_bytes`` more fit the budget, and say so; when even removing
    every finished run would not be enough, nothing is deleted (``fits`` is False)."""
    runs = run_usages(public_root)
    chosen = {_key(p) for p in to_remove(runs, budget_bytes, incoming_bytes, keep)}
    used = sum(r.bytes for r in runs if _key(r.path) not in chosen) + incoming_bytes
    if used > budget_bytes:
        return Room([], sum(r.bytes for r in runs) + incoming_bytes, False)
    return Room(remove(r.path for r in runs if _key(r.path) in chosen), used, True)


def full_message(room: Room, budget_bytes: int) -> str:
    return (
        f"the server's disk budget for visitors is full ({room.used_bytes / MB:.0f} MB needed, "
        f"{budget_bytes / MB:.0f} MB allowed, the rest held by runs in progress): try again when a run has finished"
    )

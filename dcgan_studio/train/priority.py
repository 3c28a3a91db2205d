"""A Studio that answers while a run trains: the training thread yields the CPU to the server's threads.

On a small CPU a run's threads and the request handlers share the same cores, and the run, which has no one waiting
on any single step, should be the one that waits. Two levers, both for a run in the Studio's background thread only
(the CLI's run has the machine to itself and is left as it was):

* ``lower_thread_priority``: the training thread's own nice value. Linux schedules threads, each with its own nice,
  and a thread inherits its creator's: raised at the start of the training thread, before its first parallel
  torch call, it covers torch's OpenMP workers of that thread too (they are created by it, lazily), while the
  server's threads and their own workers keep theirs. Raising one's nice needs no privilege; lowering it back does,
  so the thread keeps it until it ends.
* ``Busy`` and ``ThreadBudget``: the Studio counts requests in flight (``Busy``, entered by ``Studio.handler``); the
  loop checks it between steps and trains on one core fewer while any are in flight. The count is set for the
  training thread alone, through OpenMP (``openmp_thread_setter``): ``torch.set_num_threads`` would also set
  torch's process-wide default, which every thread that starts computing meanwhile takes and keeps, the server's
  new handler threads included (measured: they then drew samples on one core while the other stood idle).

Torch is never imported here (the Studio's page is built without it): the loop hands ``ThreadBudget`` its setter.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

STUDIO_NICE = 10  # the Studio's training thread: CFS gives a nice-0 thread ~9x its share, so requests go first


def lower_thread_priority(increment: int) -> bool:
    """Raise the calling thread's nice value by ``increment`` (capped at 19); True when done.

    Per-thread nice is Linux's: elsewhere ``os.setpriority`` is missing (Windows) or sets a whole process (macOS,
    BSD), so nothing is changed there and the run simply competes with the server as before; that, or a refusal, is
    logged at debug level and the run carries on."""
    if increment <= 0:
        return False
    if not sys.platform.startswith("linux") or not hasattr(os, "setpriority"):
        logger.debug("no per-thread nice on %s: the training thread keeps the server's priority", sys.platform)
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    except OSError as exc:
        logger.debug("could not lower the training thread's priority: %s", exc)
        return False
    return True


class Busy:
    """How many requests are in flight, counted by the handlers that serve them (thread-safe; nests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def enter(self) -> None:
        with self._lock:
            self._count += 1

    def exit(self) -> None:
        with self._lock:
            self._count -= 1

    def __enter__(self) -> Busy:
        self.enter()
        return self

    def __exit__(self, *exc) -> None:
        self.exit()

    @property
    def count(self) -> int:
        return self._count

    def busy(self) -> bool:
        """Any request in flight: one read of an int, cheap enough for every training step."""
        return self._count > 0


def openmp_thread_setter(lib_dir: Path) -> Callable[[int], None] | None:
    """``omp_set_num_threads`` of the OpenMP runtime torch ships in ``lib_dir`` (its ``lib`` folder, Linux wheels:
    ``libgomp.so.1``, already loaded, so this opens the same copy): the calling thread's count alone. None where
    there is none (other builds and platforms): the loop then leaves its count as it is."""
    path = lib_dir / "libgomp.so.1"
    if not path.is_file():
        logger.debug("no libgomp.so.1 in %s: the training thread keeps its thread count", lib_dir)
        return None
    try:
        setter = ctypes.CDLL(str(path)).omp_set_num_threads
    except (OSError, AttributeError) as exc:
        logger.debug("OpenMP's omp_set_num_threads is unavailable (%s): the thread count stays", exc)
        return None
    setter.argtypes, setter.restype = [ctypes.c_int], None
    return setter


def training_threads(busy: bool, normal: int, cores: int) -> int:
    """The training thread's intra-op threads: ``normal``, or one core fewer (at least one) while requests run."""
    return min(normal, max(1, cores - 1)) if busy else normal


@dataclass
class ThreadBudget:
    """The loop's intra-op thread count, fitted to ``busy`` between steps; ``set_threads`` (``openmp_thread_setter``'s,
    this thread's count alone) is called only when the count changes, since resizing OpenMP's team has a cost."""

    busy: Busy
    normal: int
    set_threads: Callable[[int], None]
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    current: int = field(init=False)

    def __post_init__(self) -> None:
        self.current = self.normal

    def fit(self) -> int:
        wanted = training_threads(self.busy.busy(), self.normal, self.cores)
        if wanted != self.current:
            self.set_threads(wanted)
            self.current = wanted
        return wanted

    def restore(self) -> None:
        if self.current != self.normal:
            self.set_threads(self.normal)
            self.current = self.normal

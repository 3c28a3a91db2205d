"""The ``Studio``: what every tab's ``build`` gets. It carries the app's ``Limits``, its registries (samples, jobs,
models, visitor sessions), its memos and the components every tab shares, and wraps each tab's handlers
(``Studio.handler``) so they get the visitor behind the request and show user errors as toasts."""

from __future__ import annotations

import atexit
import functools
import inspect
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from ..train.priority import Busy
from . import disk_budget
from .errors import USER_ERRORS, StudioError, internal_error
from .jobs import JobRegistry
from .memo import Memo
from .model_store import ModelStore
from .samples import SampleRegistry
from .settings import DATA_DIR, RUNS_DIR, SHIPPED_CHECKPOINT, Limits, check_text
from .visitors import LOCAL_VISITOR, VISITOR_ID_RE, SessionMap, Visitor, client_address

logger = logging.getLogger(__name__)

_RAISE = object()  # Studio.handler's default: a user error becomes a gr.Error
BROWSER_ID = "visitor_browser_id"  # the listener's extra last input with ``browser=True``: ``studio.browser_id``


def temporary_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@dataclass
class Studio:
    """The core API a tab works with, plus the components every tab shares (set while the Blocks are built).

    Each Studio (one per app, so one per process under launch.py) owns its jobs, samples and memos: two apps in one
    process (tests) never see each other's runs."""

    models: ModelStore
    limits: Limits = field(default_factory=Limits)
    runs_dir: Path = RUNS_DIR
    data_dir: Path = DATA_DIR
    work_dir: Path = field(default_factory=lambda: temporary_folder("dcgan_studio_out_"))
    samples: SampleRegistry = None  # made from ``limits`` when not given
    jobs: JobRegistry = None
    sessions: SessionMap = None
    first_screens: Memo = field(default_factory=Memo)  # what page loads show, made once per checkpoint file
    evaluations: Memo = field(default_factory=Memo)  # Evaluate tab reports, one per (checkpoint, data, options)
    busy: Busy = field(default_factory=Busy)  # requests in flight (``handler``): a run trains on a core fewer meanwhile
    comparisons: Memo = field(default_factory=Memo)  # Runs tab views, one per set of run folders as they are on disk
    # shared components, filled in by build_app
    blocks: Any = None  # the gr.Blocks being built (tabs add demo.load listeners to it)
    model: Any = None  # gr.Dropdown: the checkpoint the generator tabs use
    pool: Any = None  # gr.State: ids of this visitor's samples, newest first
    browser_id: Any = None  # gr.BrowserState: the visitor's random id (public mode), kept across reloads

    def __post_init__(self) -> None:
        if self.samples is None:
            self.samples = SampleRegistry(max_items=self.limits.max_registry, thumb_scale=self.limits.thumb_scale)
        if self.jobs is None:
            public_root = self.models.runs_dir / "public" if self.public else None
            self.jobs = JobRegistry(self.limits, public_root, self.models.upload_bytes, busy=self.busy)
        if self.sessions is None:
            self.sessions = SessionMap(self.limits.max_visitors)

    @property
    def public(self) -> bool:
        """Public-demo mode: per-visitor jobs, runs and uploads (one source of truth: ``limits.public``)."""
        return self.limits.public

    def visitor_for(self, request=None, browser_id=None) -> Visitor:
        """Who is asking: LOCAL in local mode; in public mode the browser's id (bound to its session), else the
        visitor its session was bound to on page load, else the session itself (a gradio_client is one visitor),
        with the network address the request came from."""
        if not self.public:
            return LOCAL_VISITOR
        client = client_address(request, self.limits.trust_forwarded)
        session = getattr(request, "session_hash", None)
        if isinstance(browser_id, str) and VISITOR_ID_RE.fullmatch(browser_id):
            if session:
                self.sessions.bind(session, browser_id)
            return Visitor(browser_id, client)
        return Visitor(self.sessions.get(session) or f"api-{str(session or 'anonymous')[:64]}", client)

    def handler(
        self, fn: Callable, fallback: Any = _RAISE, *, visitor: bool = False, browser: bool = False
    ) -> Callable:
        """``fn`` as a Gradio listener, with user errors shown as a ``gr.Error`` (or answered with ``fallback`` when
        given: page loads that find no checkpoint leave the page as it is) and any other exception logged with its
        traceback and shown as a short message with a reference (``errors.internal_error``).

        ``visitor``: ``fn``'s first argument is the ``Visitor`` behind the request, resolved here once.
        ``browser``: the listener takes one more input, last, ``studio.browser_id`` (page loads and polls, where the
        session may not be bound to its visitor yet); it implies ``visitor``.
        Gradio sees ``fn``'s other parameters, so API endpoints keep their parameter names, plus the ``request`` it
        fills in (and the browser's id). While ``fn`` runs, ``busy`` counts it."""
        visitor = visitor or browser
        params = list(inspect.signature(fn).parameters.values())[1 if visitor else 0 :]
        keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
        added = [inspect.Parameter(BROWSER_ID, keyword, default=None)] if browser else []
        added.append(inspect.Parameter("request", keyword, default=None, annotation=gr.Request))
        wrapped_signature = inspect.Signature([*params, *added])
        where = getattr(fn, "__qualname__", repr(fn))

        @functools.wraps(fn)
        def listener(*args, **kwargs):
            arguments = wrapped_signature.bind(*args, **kwargs).arguments
            request = arguments.pop("request", None)
            browser_id = arguments.pop(BROWSER_ID, None)
            head = [self.visitor_for(request, browser_id)] if visitor else []
            try:
                with self.busy:  # counted while it runs: a training run yields a core meanwhile (train/priority.py)
                    return fn(*head, **arguments)
            except gr.Error:
                raise
            except USER_ERRORS as exc:
                if fallback is not _RAISE:
                    return fallback
                raise gr.Error(str(exc)) from None
            except Exception:  # noqa: BLE001 - a bug: logged with its traceback, shown by reference only
                raise internal_error(where) from None

        listener.__signature__ = wrapped_signature
        annotations = {k: v for k, v in getattr(fn, "__annotations__", {}).items() if k in wrapped_signature.parameters}
        listener.__annotations__ = {**annotations, "request": gr.Request}
        return listener

    @property
    def light(self) -> dict[str, Any]:
        """The queue settings of cheap listeners (page loads, slider moves): shared, bounded concurrency, so many
        open pages cannot run unbounded work at once, yet one slow call does not hold the others up."""
        return dict(concurrency_id="light", concurrency_limit=self.limits.light_concurrency)

    def register_checkpoint(self, visitor: Visitor, path: str | Path, name: str, kind: str = "upload") -> str:
        """An uploaded or downloaded checkpoint offered to ``visitor`` (validated header first), after making room
        for it in the public disk budget; returns the dropdown value."""
        path = Path(path)
        self.jobs.make_room(path.stat().st_size if path.is_file() else 0)
        return self.models.register_upload(visitor, path, name, kind)

    def load_from_hub(self, visitor: Visitor, repo: str) -> str:
        """Download ``user/name[@revision]`` through huggingface_hub (safetensors only, each file within the upload
        cap and its architecture's size, checked before downloading), then register it like an upload. The text is
        judged as text only, never against the server's files: whether a path exists must not change the answer."""
        from ..hub import HubError, check_repo_id, resolve_checkpoint  # deferred: torch loads after the first page

        repo = check_text("Hub repo", repo, 200).strip()
        try:
            check_repo_id(repo)  # says which rule the text breaks; the same answer whatever lies on disk
        except HubError as exc:
            raise StudioError(str(exc)) from None
        max_bytes = self.limits.max_upload_mb * 2**20
        self.jobs.make_room(max_bytes)  # room for the largest file it may bring
        path = resolve_checkpoint(repo, max_bytes=max_bytes, local=False)
        return self.register_checkpoint(visitor, path, repo, "hub")

    def runs_for(self, visitor: Visitor) -> Path:
        """Where ``visitor``'s runs go (runs/ locally, runs/public/<key>/ in public mode)."""
        return self.models.visitor_runs(visitor)

    def warm_up(self) -> threading.Thread:
        """Import torch and the core, and load the preselected checkpoint, in a background thread. The page is built
        and served without them (importing torch is most of a start), so ``launch.py`` calls this once the server
        answers, and the first page load finds them ready or nearly so. A failure is logged here and met again, as a
        message, by the first handler that needs what failed."""

        def work() -> None:
            started = time.perf_counter()
            try:
                # deferred: torch loads after the first page
                from .. import features, latent  # noqa: F401 - torch and what the tabs' handlers compute with

                default = self.models.default(LOCAL_VISITOR)  # the page's preselected checkpoint
                if default is not None:
                    self.models.get(LOCAL_VISITOR, default)
            except Exception:  # noqa: BLE001 - logged; the handlers report it to the visitor
                logger.exception("warming up failed")
                return
            logger.info(
                "warmed up in %.1f s (torch, the core and the preselected checkpoint)", time.perf_counter() - started
            )

        thread = threading.Thread(target=work, name="dcgan-studio-warm-up", daemon=True)
        thread.start()
        return thread

    def out_path(self, name: str) -> Path:
        """A fresh file path for an output (grid, GIF, z file) that Gradio then serves from its cache."""
        folder = Path(tempfile.mkdtemp(prefix="o_", dir=self.work_dir))
        return folder / name


def make_studio(
    shipped: str | Path | None = SHIPPED_CHECKPOINT,
    runs_dir: str | Path = RUNS_DIR,
    data_dir: str | Path = DATA_DIR,
    public: bool | None = None,
    limits: Limits | None = None,
) -> Studio:
    """A Studio with ``limits`` (default: ``Limits.for_mode(public)``, or ``Limits.from_env()`` when ``public`` is
    None)."""
    if limits is None:
        limits = Limits.from_env() if public is None else Limits.for_mode(bool(public))
    models = ModelStore(Path(shipped) if shipped else None, Path(runs_dir), public=limits.public)
    if limits.public:  # visitor folders a restart left behind, once nothing was written in them for the grace period
        grace_s = limits.public_grace_hours * 3600
        disk_budget.remove(disk_budget.orphaned_visitor_folders(Path(runs_dir) / "public", time.time(), grace_s))
    return Studio(models=models, limits=limits, runs_dir=Path(runs_dir), data_dir=Path(data_dir))

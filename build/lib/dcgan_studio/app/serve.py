"""Start the Studio: what ``python launch.py`` (a checkout, a Hugging Face Space) and ``dcgan-studio studio`` (an
installed package, from any folder) both call, so the two cannot drift apart.

The page is served first and torch loads after (``Studio.warm_up``): the first page does not wait for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ..shipped import shipped_generator
from . import build_app, launch_options, settings
from .settings import Limits


def server_address(host: str | None, port: int | None, env: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Flags win over GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (set by Spaces), which win over 127.0.0.1:7860."""
    env = os.environ if env is None else env
    return (
        host or env.get("GRADIO_SERVER_NAME") or settings.DEFAULT_HOST,
        port or int(env.get("GRADIO_SERVER_PORT") or settings.DEFAULT_PORT),
    )


def opening_checkpoint(spec: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The checkpoint the Studio opens on: ``spec`` (a file, or a Hub repo user/name[@revision] fetched through
    huggingface_hub's cache), else DCGAN_STUDIO_CHECKPOINT, else the shipped generator: ``checkpoints/`` under the
    working folder (a checkout), or the installed package's copy."""
    spec = (spec or (os.environ if env is None else env).get("DCGAN_STUDIO_CHECKPOINT", "")).strip()
    if spec:
        from ..hub import resolve_checkpoint  # deferred: huggingface_hub only when a spec is given

        return resolve_checkpoint(spec)
    if settings.SHIPPED_CHECKPOINT.is_file():
        return settings.SHIPPED_CHECKPOINT
    return shipped_generator()


def serve(
    host: str | None = None,
    port: int | None = None,
    share: bool = False,
    checkpoint: str | None = None,
    public: bool | None = None,
    runs_dir: str | Path = settings.RUNS_DIR,
    block: bool = True,
):
    """Build and launch the Studio; with ``block=False`` return the running Blocks at once (tests: ``demo.close()``).

    ``public`` None: the mode the environment asks for (DCGAN_STUDIO_PUBLIC, automatic on Spaces). The server
    surface (``launch_options``): uploads above ``Limits.max_file_size`` get HTTP 413, Gradio's /monitoring endpoint
    is off, and no folder is allowed wholesale."""
    host, port = server_address(host, port)
    limits = Limits.from_env() if public is None else Limits.for_mode(public)
    if limits.public:
        print(
            f"DCGAN Studio: public-demo mode (jobs stop after {limits.max_job_seconds:.0f} s, "
            f"at most {limits.max_jobs} at once, uploads up to {limits.max_file_size})",
            flush=True,
        )
    demo = build_app(shipped=opening_checkpoint(checkpoint), runs_dir=runs_dir, limits=limits)
    demo.queue(default_concurrency_limit=1)
    demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=True, **launch_options(limits))
    demo.warm_up = demo.studio.warm_up()  # torch and the checkpoint load now, after the first page can be answered
    if block:
        demo.block_thread()
    return demo

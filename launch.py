"""Start DCGAN Studio: ``python launch.py [--host 127.0.0.1] [--port 7860] [--share]``.

It opens on the shipped digits generator (checkpoints/digits32.safetensors), with nothing to download. On a
Hugging Face Space, GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (set by Spaces) are honoured; flags win over them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from dcgan_studio.app import Limits, build_app, launch_options, settings

ROOT = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="DCGAN Studio: train and explore a DCGAN in the browser")
    p.add_argument("--host", default=None, help="interface to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    return p.parse_args(argv)


def server_address(args: argparse.Namespace, env: dict | None = None) -> tuple[str, int]:
    env = os.environ if env is None else env
    host = args.host or env.get("GRADIO_SERVER_NAME") or settings.DEFAULT_HOST
    port = args.port or int(env.get("GRADIO_SERVER_PORT") or settings.DEFAULT_PORT)
    return host, port


def shipped_checkpoint(env: dict | None = None):
    """The checkpoint the Studio opens on: DCGAN_STUDIO_CHECKPOINT (a file, or a Hub repo user/name[@revision],
    downloaded at start through huggingface_hub's cache), else checkpoints/digits32.safetensors."""
    spec = (os.environ if env is None else env).get("DCGAN_STUDIO_CHECKPOINT", "").strip()
    if not spec:
        return settings.SHIPPED_CHECKPOINT
    from dcgan_studio.hub import resolve_checkpoint

    return resolve_checkpoint(spec)


def main(argv: list[str] | None = None, block: bool = True):
    """Build and launch the Studio; with ``block=False`` return the running Blocks at once (tests: ``demo.close()``).

    The server surface (``launch_options``): uploads above ``Limits.max_file_size`` get HTTP 413, Gradio's
    /monitoring endpoint is off, and no folder is allowed wholesale: /gradio_api/file= serves only Gradio's cache
    (uploads and files a handler returned to a page), never checkpoints/, runs/ or the repository. Public-demo mode
    (DCGAN_STUDIO_PUBLIC=1, automatic on Spaces) lowers the limits and keeps visitors apart (app/settings.py)."""
    args = parse_args(argv)
    os.chdir(ROOT)  # the shipped checkpoint, runs/ and data/ are relative to the repository
    host, port = server_address(args)
    limits = Limits.from_env()
    if limits.public:
        print(
            f"DCGAN Studio: public-demo mode (jobs stop after {limits.max_job_seconds:.0f} s, "
            f"at most {limits.max_jobs} at once, uploads up to {limits.max_file_size})",
            flush=True,
        )
    demo = build_app(shipped=shipped_checkpoint(), limits=limits)
    demo.queue(default_concurrency_limit=1)
    demo.launch(
        server_name=host, server_port=port, share=args.share, prevent_thread_lock=True, **launch_options(limits)
    )
    demo.studio.warm_up()  # torch and the checkpoint load now, after the first page can be answered
    if block:
        demo.block_thread()
    return demo


if __name__ == "__main__":
    main()

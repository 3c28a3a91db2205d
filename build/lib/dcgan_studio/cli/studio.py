"""``studio``: start the Studio from an installed package, in any folder (runs are written under it).

The one place the CLI reaches into the app: it only starts it (``app.serve.serve``, what launch.py calls too)."""

from __future__ import annotations

import argparse


def studio_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="interface to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="checkpoint to open on: a .safetensors file or a Hub repo user/name[@revision] (default: the shipped "
        "digits generator)",
    )
    p.add_argument("--public", action="store_true", help="public-demo mode: lower limits, visitors kept apart")
    p.add_argument("--runs-dir", default="runs", help="folder for the Studio's runs (default: %(default)s)")


def run_studio(args: argparse.Namespace) -> int:
    from ..app.serve import serve  # deferred: gradio loads only for this command

    serve(args.host, args.port, args.share, args.checkpoint, True if args.public else None, args.runs_dir)
    return 0

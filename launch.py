"""Start DCGAN Studio: ``python launch.py [--host 127.0.0.1] [--port 7860] [--share]``; a Hugging Face Space's entry
point. An installed package starts the same Studio with ``dcgan-studio studio``.

It opens on the shipped digits generator (checkpoints/digits32.safetensors), with nothing to download. On a
Hugging Face Space, GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (set by Spaces) are honoured; flags win over them.
DCGAN_STUDIO_CHECKPOINT (a file or a Hub repo user/name[@revision]) opens another checkpoint.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from dcgan_studio.app.serve import opening_checkpoint, serve, server_address  # noqa: F401  (tests use them here)

ROOT = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="DCGAN Studio: train and explore a DCGAN in the browser")
    p.add_argument("--host", default=None, help="interface to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--share", action="store_true", help="also open a temporary public gradio.live link")
    return p.parse_args(argv)


def main(argv: list[str] | None = None, block: bool = True):
    """Build and launch the Studio (``app.serve.serve``); ``block=False`` returns the running Blocks at once."""
    args = parse_args(argv)
    os.chdir(ROOT)  # the shipped checkpoint, runs/ and data/ are relative to the repository
    return serve(args.host, args.port, args.share, block=block)


if __name__ == "__main__":
    main()

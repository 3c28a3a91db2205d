"""``export --hub-dir`` (a checkpoint as a Hugging Face Hub folder) and ``push`` (upload such a folder)."""

from __future__ import annotations

import argparse


def hub_export_args(p: argparse.ArgumentParser) -> None:
    """The flags ``export`` takes to write a Hub folder instead of (or besides) a single file."""
    hub = p.add_argument_group("Hub folder (--hub-dir)")
    hub.add_argument(
        "--hub-dir",
        default=None,
        help="write a Hugging Face Hub folder here: config.json, model.safetensors (and discriminator.safetensors), "
        "samples.png, report.json and a model card (README.md); upload it with `push`",
    )
    hub.add_argument("--report", default=None, help="report.json of `eval --out DIR`: the card quotes its figures")
    hub.add_argument(
        "--train-command",
        default=None,
        help="the exact command that trained the checkpoint, for the card (default: the one in its metadata)",
    )
    hub.add_argument("--dataset", default=None, help="dataset name for the card (default: from the checkpoint/report)")
    hub.add_argument("--license", default="mit", help="license in the card's front matter")
    hub.add_argument("--repo-id", default=None, help="user/name the card's examples name (default: a placeholder)")
    hub.add_argument("--sample-seed", type=int, default=0, help="seed of the card's 64-sample grid")


def run_hub_export(args: argparse.Namespace, checkpoint) -> None:
    from ..hub import export_for_hub

    out = export_for_hub(
        checkpoint,
        args.hub_dir,
        report_json=args.report,
        train_command=args.train_command,
        sample_seed=args.sample_seed,
        dataset=args.dataset,
        license=args.license,
        repo_id=args.repo_id,
    )
    files = ", ".join(sorted(p.name for p in out.iterdir() if p.is_file()))
    print(f"wrote Hub folder {out}: {files}")


def push_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", required=True, help="Hub folder written by `export --hub-dir` (checked before uploading)")
    p.add_argument("--repo", required=True, help="Hub repo to upload to: user/name (created if missing)")
    p.add_argument("--branch", default=None, help="branch to commit to (default: main)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--message", default="Upload DCGAN Studio model", help="commit message")


def run_push(args: argparse.Namespace) -> int:
    from ..hub import HubError, is_repo_id, push_folder

    if not is_repo_id(args.repo) or "@" in args.repo:
        raise HubError(f"--repo {args.repo!r} is not a Hub repo id: write user/name (use --branch for a branch)")
    url = push_folder(
        args.dir, args.repo, private=args.private or None, branch=args.branch, commit_message=args.message
    )
    print(f"pushed {args.dir} to {args.repo}: {url}")
    return 0

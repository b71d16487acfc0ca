"""`pv-model build-embedder`: the phrase mapper's model folder (pv_model.phrases)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pv_model.commands import setup_logging


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "build-embedder",
        help="all-MiniLM-L6-v2 with the event vocabulary embedded: the phrase mapper endpoint's folder",
    )
    parser.add_argument("--output", type=Path, default=Path(".artifacts/models/phrase-mapper"))
    parser.add_argument(
        "--base-model", default="", help="Hugging Face name or folder (default: packaged MiniLM)"
    )
    parser.add_argument("--top-k", type=int, default=5, help="terms answered per phrase")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from pv_model.phrases import build_embedder

    setup_logging()
    folder = build_embedder(args.output, args.base_model or None, top_k=args.top_k)
    print(f"phrase mapper folder: {folder}")
    return 0

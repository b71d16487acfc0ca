"""`pv-model`: one console script; each command module registers its own subcommands.

A command module exposes `register(subparsers)` and keeps heavy imports (torch, transformers)
inside the functions it runs, so `pv-model --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

_COMMAND_MODULES = [
    "pv_model.commands.classifier",  # download, train, eval, augment
    "pv_model.commands.serving",  # package, serve, export-onnx, bench, sagemaker ...
    "pv_model.commands.ner",  # train-ner, eval-ner
    "pv_model.commands.summarizer",  # train-summarizer
    "pv_model.commands.lay",  # lay validate, lay stats
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pv-model", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""`pv-model lay validate | stats`: the lay corpus's checks and counts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `lay` subcommands to the `pv-model` parser."""
    from pv_model.lay import DEFAULT_LAY_DIR

    lay = subparsers.add_parser("lay", help="the lay corpus (model/data/lay): validate, count")
    actions = lay.add_subparsers(dest="action", required=True)
    folder = argparse.ArgumentParser(add_help=False)
    folder.add_argument("--lay", default=DEFAULT_LAY_DIR, help=f"corpus folder (default: {DEFAULT_LAY_DIR})")

    validate = actions.add_parser("validate", parents=[folder], help="list every problem; exit 1 if any")
    validate.add_argument("--warnings", action="store_true", help="also list the warnings")
    validate.set_defaults(func=_validate)

    stats = actions.add_parser("stats", parents=[folder], help="counts by label, kind, register, voice...")
    stats.add_argument("--json", help="also write the counts as JSON here")
    stats.add_argument("--markdown", action="store_true", help="print Markdown tables instead of JSON")
    stats.add_argument("--datasheet", help="rewrite the generated block of this datasheet")
    stats.set_defaults(func=_stats)


def _validate(args: argparse.Namespace) -> int:
    from pv_model.lay import load_lay

    corpus = load_lay(args.lay, strict=False)
    for problem in corpus.problems:
        print(f"ERROR {problem}")
    if args.warnings:
        for warning in corpus.warnings:
            print(f"WARNING {warning}")
    print(
        f"{len(corpus.documents)} documents read, {len(corpus.problems)} problem(s), "
        f"{len(corpus.warnings)} warning(s)",
        file=sys.stderr,
    )
    return 1 if corpus.problems else 0


def _stats(args: argparse.Namespace) -> int:
    from pv_model.lay import format_stats, load_lay, stats, update_datasheet

    summary = stats(load_lay(args.lay))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(summary, indent=2) + "\n")
    if args.datasheet:
        print(f"updated {update_datasheet(args.datasheet, summary)}", file=sys.stderr)
    print(format_stats(summary) if args.markdown else json.dumps(summary, indent=2))
    return 0

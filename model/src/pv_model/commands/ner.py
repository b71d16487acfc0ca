"""`pv-model train-ner | eval-ner`: the drug / adverse-event extraction model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pv_model.commands import add_config_flags, config_from_args, setup_logging
from pv_model.data import DEFAULT_DATA_DIR

DEFAULT_EVAL_JSON = ".artifacts/eval/ae-extractor.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the extraction subcommands to the `pv-model` parser."""
    from pv_model.ner import DEFAULT_NER_DIR
    from pv_model.ner.training import NerTrainConfig

    train = subparsers.add_parser("train-ner", help="fine-tune the DRUG/AE token classifier")
    add_config_flags(train, NerTrainConfig)
    train.set_defaults(func=_train)

    evaluate = subparsers.add_parser("eval-ner", help="entity-level P/R/F1 of a saved extractor")
    evaluate.add_argument("--model", default=DEFAULT_NER_DIR, help="saved extractor folder")
    evaluate.add_argument("--data", default=DEFAULT_DATA_DIR, help="ADE-Corpus-V2 folder")
    evaluate.add_argument("--split", choices=("test", "all"), default="test", help="part to score")
    evaluate.add_argument("--json", default=DEFAULT_EVAL_JSON, help="report path (the PNG goes beside it)")
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument(
        "--lay",
        default=None,
        help="lay corpus folder to score too (default: the one training.json names; '' for none)",
    )
    evaluate.set_defaults(func=_eval)


def _train(args: argparse.Namespace) -> int:
    from pv_model.ner.training import NerTrainConfig, train_ner

    setup_logging()
    config = config_from_args(NerTrainConfig, args)
    print(json.dumps(train_ner(config), indent=2))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from pv_model.ner.evaluation import evaluate_ner, format_report

    setup_logging()
    report = evaluate_ner(
        args.model,
        args.data,
        part=args.split,
        json_out=args.json,
        batch_size=args.batch_size,
        lay_dir=args.lay,
    )
    print(format_report(report))
    print(f"report: {Path(args.json)}")
    return 0

"""`pv-model download | train | eval | augment`: the classifier's data, training and evaluation."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pv_model.commands import add_config_flags, config_from_args, setup_logging
from pv_model.data import DEFAULT_DATA_DIR

DEFAULT_EVAL_JSON = ".artifacts/eval/ae-classifier.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the classifier subcommands to the `pv-model` parser."""
    from pv_model.download import DEFAULT_BASE_URL
    from pv_model.training import TrainConfig

    download = subparsers.add_parser("download", help="fetch ADE-Corpus-V2 from its public distribution")
    download.add_argument("--output", default=".artifacts/data/ade-corpus-v2", help="folder to write")
    download.add_argument("--base-url", default=DEFAULT_BASE_URL, help="where the corpus files live")
    download.set_defaults(func=_download)

    train = subparsers.add_parser("train", help="fine-tune the AE sentence classifier")
    add_config_flags(train, TrainConfig)
    train.set_defaults(func=_train)

    evaluate = subparsers.add_parser("eval", help="score a saved model against the TF-IDF baseline")
    evaluate.add_argument("--model", default=TrainConfig.output_dir, help="saved model folder")
    evaluate.add_argument("--data", default=DEFAULT_DATA_DIR, help="ADE-Corpus-V2 folder")
    evaluate.add_argument("--split", choices=("test", "all"), default="test", help="part to score")
    evaluate.add_argument("--json", default=DEFAULT_EVAL_JSON, help="report path (PNGs go beside it)")
    evaluate.add_argument("--baseline-train-data", default=None, help="with --split all: baseline corpus")
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument(
        "--lay",
        default=None,
        help="lay corpus folder to score too (default: the one training.json names; '' for none)",
    )
    evaluate.set_defaults(func=_eval)

    augment = subparsers.add_parser("augment", help="write synthetic Adverse_Event sentences")
    augment.add_argument("--data", default=DEFAULT_DATA_DIR, help="ADE-Corpus-V2 folder (source of examples)")
    augment.add_argument("--output", required=True, help="folder to write, in ADE-Corpus-V2 format")
    augment.add_argument("--mode", choices=("substitute", "sagemaker", "bedrock"), default="substitute")
    augment.add_argument("--endpoint", help="SageMaker endpoint name (mode sagemaker)")
    augment.add_argument("--model-id", help="Bedrock model id (mode bedrock)")
    augment.add_argument(
        "--count", type=int, default=100, help="sentences to write (LLM) / per AE (substitute)"
    )
    augment.add_argument("--seed", type=int, default=42)
    augment.set_defaults(func=_augment)


def _download(args: argparse.Namespace) -> int:
    from pv_model.download import download_corpus

    setup_logging()
    folder = download_corpus(args.output, base_url=args.base_url)
    print(json.dumps({"output": str(folder)}))
    return 0


def _train(args: argparse.Namespace) -> int:
    from pv_model.training import TrainConfig, train

    setup_logging()
    config = config_from_args(TrainConfig, args)
    print(json.dumps(train(config), indent=2))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from pv_model.evaluation import evaluate, format_report

    setup_logging()
    report = evaluate(
        args.model,
        args.data,
        part=args.split,
        json_out=args.json,
        baseline_train_dir=args.baseline_train_data,
        batch_size=args.batch_size,
        lay_dir=args.lay,
    )
    print(format_report(report))
    print(f"report: {Path(args.json)}")
    return 0


def _augment(args: argparse.Namespace) -> int:
    from pv_model import augment

    setup_logging()
    written = augment.run(
        data_dir=args.data,
        output=args.output,
        mode=args.mode,
        count=args.count,
        seed=args.seed,
        endpoint=args.endpoint,
        model_id=args.model_id,
    )
    print(json.dumps({"output": args.output, "sentences": written}))
    return 0

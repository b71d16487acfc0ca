"""`pv-model train-summarizer`: the abstractive case summarizer (a sequence-to-sequence model)."""

from __future__ import annotations

import argparse
import json

from pv_model.commands import add_config_flags, config_from_args, setup_logging

DESCRIPTION = """\
Fine-tune a sequence-to-sequence summarizer with Seq2SeqTrainer on a CSV of note/summary pairs:
a header row, then one note per row in the text column and its summary in the summary column
(`text,summary` unless --text-column / --summary-column say otherwise; model/examples/summaries.csv
shows the format). Rows are split into training and validation by a seeded shuffle; validation is
scored with ROUGE-L F1, which early stopping and the kept checkpoint follow. --base-model: any
Hugging Face sequence-to-sequence model (t5-small, facebook/bart-base) or local folder; an
encoder-only one (BERT) becomes a BERT2BERT; empty (the default) is a BERT2BERT from the packaged
all-MiniLM-L6-v2, which needs no download. Serve the folder as the SummarizerEndpointName endpoint
(pv-model package, or pv ... --summarizer DIR locally).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the summarizer subcommand to the `pv-model` parser."""
    from pv_model.summarizer.training import SummarizerTrainConfig

    train = subparsers.add_parser(
        "train-summarizer",
        help="fine-tune the abstractive case summarizer on a text,summary CSV",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_flags(train, SummarizerTrainConfig)
    train.set_defaults(func=_train, parser=train)


def _train(args: argparse.Namespace) -> int:
    from pv_model.summarizer.training import SummarizerTrainConfig, train_summarizer

    if not args.data:
        args.parser.error("--data CSV is required (a header, then note,summary rows)")
    setup_logging()
    config = config_from_args(SummarizerTrainConfig, args)
    print(json.dumps(train_summarizer(config), indent=2))
    return 0

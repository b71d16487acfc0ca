"""Fine-tune a sequence-to-sequence case summarizer on note -> summary pairs (HF Seq2SeqTrainer).

The data is a CSV with a text column and a summary column (`text,summary` unless told otherwise),
split into training and validation rows with a seeded shuffle. The model is any Hugging Face
sequence-to-sequence model (`t5-small`, `facebook/bart-base`: `base_model`), or, from an
encoder-only model such as BERT, a BERT2BERT `EncoderDecoderModel` warm-started from it (encoder
and decoder both start from its weights; the decoder's cross-attention starts from scratch). The
default is a BERT2BERT from the packaged all-MiniLM-L6-v2, which needs no download.

Validation is scored with ROUGE-L F1 on generated summaries (early stopping and the kept
checkpoint follow it), and once more at the end through the serving handler, beside the lead
baseline (the note's first sentence as its summary).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import random
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pv_model.summarizer import DEFAULT_SUMMARIZER_DIR
from pv_model.summarizer.rouge import mean_rouge_l
from pv_model.training import (
    _versions,
    begin_run,
    checkpointed_arguments,
    finish_run,
    run_progress,
    save_model,
    stopping_callbacks,
)

log = logging.getLogger(__name__)

T5_PREFIX = "summarize: "  # what T5 checkpoints were pre-trained to see before a text to summarize


@dataclass
class SummarizerTrainConfig:
    """Everything one summarizer training run depends on; field names double as CLI flags."""

    data: str = ""  # the CSV of note/summary pairs (required)
    output_dir: str = DEFAULT_SUMMARIZER_DIR
    # Empty: a BERT2BERT warm-started from the packaged all-MiniLM-L6-v2. A seq2seq model (T5,
    # BART...) is fine-tuned as it is; an encoder-only one becomes a BERT2BERT.
    base_model: str = ""
    text_column: str = "text"
    summary_column: str = "summary"
    source_prefix: str = ""  # put before every note; empty: "summarize: " for T5, else nothing
    validation_fraction: float = 0.1
    learning_rate: float = 5e-5
    epochs: float = 20.0
    batch_size: int = 8
    eval_batch_size: int = 16
    max_source_length: int = 256  # note tokens kept (cut to the model's limit)
    max_target_length: int = 64  # summary tokens learnt, and the most the endpoint generates
    num_beams: int = 4  # beam search width, in validation and at the endpoint
    warmup_steps: int = 0
    weight_decay: float = 0.01
    lr_scheduler: str = "linear"
    seed: int = 42
    early_stopping_patience: int = 3
    evals_per_epoch: int = 1
    time_budget_minutes: float = 60.0  # stop (keeping the best checkpoint so far) after this long
    limit_train: int = 0  # >0: train on the first N training pairs only (smoke runs, tests)
    num_threads: int = 1  # torch CPU threads (the shared 2-core box)


def read_pairs(
    path: str | Path, text_column: str = "text", summary_column: str = "summary"
) -> list[tuple[str, str]]:
    """(note, summary) pairs of a CSV with a header; rows with an empty note or summary are skipped."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (text_column, summary_column) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} has no column {missing} (its header: {reader.fieldnames})")
        rows = [((row[text_column] or "").strip(), (row[summary_column] or "").strip()) for row in reader]
    pairs = [(text, summary) for text, summary in rows if text and summary]
    if len(pairs) < len(rows):
        log.warning("%s: %d rows with an empty note or summary skipped", path, len(rows) - len(pairs))
    return pairs


def split_pairs(
    pairs: list[tuple[str, str]], validation_fraction: float, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(training, validation) by a seeded shuffle; at least one pair on each side."""
    if len(pairs) < 2:
        raise ValueError(f"{len(pairs)} usable pairs: at least 2 are needed (one to train, one to validate)")
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    size = min(len(pairs) - 1, max(1, round(len(pairs) * validation_fraction)))
    return [pairs[i] for i in order[size:]], [pairs[i] for i in order[:size]]


def lead_sentence(text: str) -> str:
    """The note's first sentence (the lead baseline's summary)."""
    return re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]


def warm_start(base: str, tokenizer: Any) -> Any:
    """The model to fine-tune: `base` itself when it is sequence-to-sequence, else a BERT2BERT of it.

    A BERT2BERT starts decoding from the tokenizer's [CLS] and stops at [SEP].
    """
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, EncoderDecoderModel

    if AutoConfig.from_pretrained(base).is_encoder_decoder:
        return AutoModelForSeq2SeqLM.from_pretrained(base)
    log.info("warm-starting a BERT2BERT encoder-decoder from %s", base)
    model = EncoderDecoderModel.from_encoder_decoder_pretrained(base, base)
    start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    for settings in (model.config, model.generation_config):
        settings.decoder_start_token_id = start
        settings.eos_token_id = end
        settings.pad_token_id = tokenizer.pad_token_id
    return model


def source_prefix(config: SummarizerTrainConfig, model: Any) -> str:
    """The configured prefix, or T5's "summarize: " for a T5 model when none is configured."""
    return config.source_prefix or (T5_PREFIX if model.config.model_type in ("t5", "mt5") else "")


class PairDataset:
    """Tokenized notes with their summaries as labels (the decoder's start token left out)."""

    def __init__(
        self,
        tokenizer: Any,
        pairs: list[tuple[str, str]],
        *,
        prefix: str,
        max_source_length: int,
        max_target_length: int,
        decoder_start: int | None,
    ) -> None:
        sources = tokenizer(
            [prefix + text for text, _ in pairs],
            truncation=True,
            max_length=max_source_length,
            return_token_type_ids=False,
        )
        targets = tokenizer(
            text_target=[summary for _, summary in pairs], truncation=True, max_length=max_target_length
        )["input_ids"]
        # A BERT tokenizer starts every summary with [CLS], which is also the decoder's start token:
        # the decoder is given it, so it is not a label to learn.
        labels = [t[1:] if t and t[0] == decoder_start else t for t in targets]
        self.rows = [
            {"input_ids": ids, "attention_mask": mask, "labels": label}
            for ids, mask, label in zip(sources["input_ids"], sources["attention_mask"], labels, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]


def train_summarizer(config: SummarizerTrainConfig) -> dict[str, Any]:
    """Fine-tune, keep the checkpoint with the best validation ROUGE-L, save the model folder.

    Returns the validation ROUGE-L of the saved model as the endpoint serves it, and the lead
    baseline's on the same notes.
    """
    from transformers import AutoTokenizer, DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

    from pv_model.serving.code import summarizer_inference

    if not config.data:
        raise ValueError("no training data: give the CSV of note/summary pairs (--data)")
    started, base, output = begin_run(config)

    pairs = read_pairs(config.data, config.text_column, config.summary_column)
    train_pairs, validation = split_pairs(pairs, config.validation_fraction, config.seed)
    if config.limit_train > 0:
        train_pairs = train_pairs[: config.limit_train]
    log.info("training on %d pairs, validating on %d", len(train_pairs), len(validation))

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = warm_start(base, tokenizer)
    # Validation generates as the endpoint will (which passes max_new_tokens instead): max_length
    # counts the decoder's start token too.
    model.generation_config.max_length = config.max_target_length + 1
    model.generation_config.num_beams = config.num_beams
    prefix = source_prefix(config, model)
    max_source_length = min(
        config.max_source_length, summarizer_inference.input_limit(model.config, tokenizer)
    )
    encoding = {
        "prefix": prefix,
        "max_source_length": max_source_length,
        "max_target_length": config.max_target_length,
        "decoder_start": model.config.decoder_start_token_id,
    }
    train_set = PairDataset(tokenizer, train_pairs, **encoding)
    val_set = PairDataset(tokenizer, validation, **encoding)
    references = [summary for _, summary in validation]
    pad_id = tokenizer.pad_token_id or 0

    def compute_metrics(prediction: Any) -> dict[str, float]:
        generated = np.asarray(prediction.predictions)
        texts = tokenizer.batch_decode(np.where(generated < 0, pad_id, generated), skip_special_tokens=True)
        return {"rougeL": mean_rouge_l(texts, references)}

    args = checkpointed_arguments(
        config,
        len(train_set),
        "rougeL",
        arguments_class=Seq2SeqTrainingArguments,
        predict_with_generate=True,
        generation_num_beams=config.num_beams,
    )
    trainer = Seq2SeqTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=val_set,  # type: ignore[arg-type]
        # Labels padded with -100; each model makes its decoder inputs from them (shifted right).
        data_collator=DataCollatorForSeq2Seq(tokenizer),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        callbacks=stopping_callbacks(config, started),
    )
    train_result = trainer.train()
    training_seconds = time.monotonic() - started

    save_model(model, tokenizer, output)  # the best checkpoint, loaded in place
    record: dict[str, Any] = {
        "task": "summarization",
        "max_source_length": max_source_length,
        "max_target_length": config.max_target_length,
        "source_prefix": prefix,
        "generation": {"max_new_tokens": config.max_target_length, "num_beams": config.num_beams},
    }
    (output / "training.json").write_text(json.dumps(record) + "\n")

    # Scored once more from the saved folder through the serving handler: what the endpoint says.
    served = summarizer_inference.summarize(
        summarizer_inference.load_model(output),
        [text for text, _ in validation],
        batch_size=config.eval_batch_size,
    )
    val_rouge = mean_rouge_l(served, references)
    lead_rouge = mean_rouge_l([lead_sentence(text) for text, _ in validation], references)
    data_path = Path(config.data)
    record |= {
        "data": str(data_path),
        "data_sha256": hashlib.sha256(data_path.read_bytes()).hexdigest(),
        "split": {
            "seed": config.seed,
            "validation_fraction": config.validation_fraction,
            "pairs": len(pairs),
            "train": len(train_pairs),
            "validation": len(validation),
        },
        "base_model": base,
        "architecture": type(model).__name__,
        "hyperparameters": asdict(config),
        "versions": _versions(),
        "metrics": {
            "validation": {"rougeL": val_rouge, "lead_sentence_rougeL": lead_rouge},
            "best_checkpoint_val_rougeL": trainer.state.best_metric,
            **run_progress(
                trainer, train_result, ("epoch", "step", "loss", "eval_loss", "eval_rougeL", "learning_rate")
            ),
        },
        "training_seconds": round(training_seconds, 1),
    }
    finish_run(output, record)
    return {
        "rougeL": val_rouge,
        "lead_sentence_rougeL": lead_rouge,
        "validation_pairs": len(validation),
        "training_seconds": round(training_seconds, 1),
        "output_dir": str(output),
    }

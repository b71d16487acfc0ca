"""Padded tokens a `pv-model train` configuration costs, without training: the training batches
as the length-grouped sampler forms them, and every validation pass. Turned into seconds on the
reference machine (2-core AVX2, fp32), where the old default (ADE-Corpus-V2 alone, 1,323 steps of
32 sentences, max_length 128) ran at 1.2 s a step.

    python model/scripts/train_cost.py [--epochs 2 --batch-size 32 --max-length 64 ...]

Flags are `pv-model train`'s. Prints JSON: steps, padded tokens, and the estimated seconds."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
from pv_model.base_model import resolve_base_model
from pv_model.commands import add_config_flags, config_from_args
from pv_model.training import TrainConfig, classifier_data
from transformers import AutoTokenizer
from transformers.trainer_pt_utils import get_length_grouped_indices

# The old default (ADE-Corpus-V2 alone, 3 epochs of 32 sentences, max_length 128) ran at 1.2 s a
# step on the reference machine; this script measures 1,019.1 padded tokens a step for it.
REFERENCE_STEP_SECONDS = 1.2
REFERENCE_TOKENS_PER_STEP = 1019.1
# A validation token's cost against a training token's: calibrated so that the old default's
# 17 validation passes fill its 30 minutes there beside its 1,323 steps at 1.2 s.
EVAL_COST = 0.18


def train_token_cost(config: TrainConfig, layers: int = 6) -> float:
    """A training token's cost against the old default's (frozen word embeddings, every layer
    trained): a forward pass through every layer (1 each) and a backward pass (2 each) through the
    trained ones; `freeze_layers` leaves the lowest out of the backward pass."""
    trained = layers - config.freeze_layers
    return (layers + 2 * trained) / (3 * layers)


def padded(lengths: list[int], order: list[int], batch: int) -> tuple[int, int]:
    """(padded tokens, batches) of `order` cut into batches of `batch`."""
    total = steps = 0
    for i in range(0, len(order), batch):
        chunk = [lengths[j] for j in order[i : i + batch]]
        total += max(chunk) * len(chunk)
        steps += 1
    return total, steps


def cost(config: TrainConfig, evaluations: int | None = None, soup_trials: int = 4) -> dict[str, float]:
    """Steps and padded tokens of `config`'s run: training (each epoch its own shuffle), and
    `evaluations` validation passes (default: `evals_per_epoch` per epoch) plus the soup's trials
    and the threshold pass."""
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model(config.base_model))
    data = classifier_data(config)

    def enc(texts: list[str]) -> list[int]:
        return [len(x) for x in tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]]

    lengths = enc([e.text for e in data.train])
    steps_per_epoch = math.ceil(len(lengths) / config.batch_size)
    total_steps = math.ceil(steps_per_epoch * config.epochs)
    generator = torch.Generator().manual_seed(config.seed)
    train_tokens = steps = 0
    while steps < total_steps:
        order = get_length_grouped_indices(lengths, config.batch_size, generator=generator)
        take = min(steps_per_epoch, total_steps - steps) * config.batch_size
        tokens, n = padded(lengths, order[:take], config.batch_size)
        train_tokens, steps = train_tokens + tokens, steps + n
    val_lengths = sorted(enc([e.text for e in data.validation]))
    val_tokens, _ = padded(val_lengths, list(range(len(val_lengths))), config.eval_batch_size)
    if evaluations is None:
        evaluations = int(config.evals_per_epoch * config.epochs)
    passes = evaluations + (soup_trials if config.weight_averaging == "greedy" else 0) + 1
    return {
        "train_sentences": len(lengths),
        "steps": steps,
        "train_padded_tokens": train_tokens,
        "tokens_per_step": train_tokens / steps,
        "validation_sentences": len(val_lengths),
        "validation_passes": passes,
        "eval_padded_tokens": val_tokens * passes,
    }


def estimated_seconds(train_tokens: float, eval_tokens: float, freeze_layers: int = 0) -> float:
    """Seconds on the reference machine for these padded training and validation tokens."""
    per_token = REFERENCE_STEP_SECONDS / REFERENCE_TOKENS_PER_STEP
    trained = train_token_cost(TrainConfig(freeze_layers=freeze_layers))
    return per_token * (trained * train_tokens + EVAL_COST * eval_tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_flags(parser, TrainConfig)
    parser.add_argument("--evaluations", type=int, default=None)
    parser.add_argument("--record", help="a finished run's training.json: estimate from its recorded cost")
    args = parser.parse_args()
    if args.record:
        record = json.loads(Path(args.record).read_text())
        spent = record["cost"]
        # the threshold pass after saving is not counted in the record: one more validation pass
        passes = spent["evaluations"] + len(record["metrics"]["weight_averaging"].get("trials", [])) + 1
        eval_tokens = spent["eval_padded_tokens"] * (passes + 1) / passes
        seconds = estimated_seconds(
            spent["train_padded_tokens"], eval_tokens, record["hyperparameters"].get("freeze_layers", 0)
        )
        print(json.dumps({"steps": spent["optimizer_steps"], "estimated_seconds": round(seconds)}))
        return
    config = config_from_args(TrainConfig, args)
    run = cost(config, args.evaluations)
    seconds = estimated_seconds(run["train_padded_tokens"], run["eval_padded_tokens"], config.freeze_layers)
    print(json.dumps({"run": run, "estimated_seconds": round(seconds)}, indent=2))


if __name__ == "__main__":
    main()

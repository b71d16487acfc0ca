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

import torch
from pv_model.base_model import resolve_base_model
from pv_model.commands import add_config_flags, config_from_args
from pv_model.training import TrainConfig, classifier_data
from transformers import AutoTokenizer
from transformers.trainer_pt_utils import get_length_grouped_indices

# The old default's training tokens per step on the reference machine (measured by this script
# on that configuration) and its 1.2 s a step: seconds per padded training token.
REFERENCE_STEP_SECONDS = 1.2
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_flags(parser, TrainConfig)
    parser.add_argument("--evaluations", type=int, default=None)
    config = config_from_args(TrainConfig, parser.parse_args())
    reference = cost(TrainConfig(lay_dir="", max_length=128, epochs=3.0, batch_size=32))
    run = cost(config)
    per_token = REFERENCE_STEP_SECONDS / reference["tokens_per_step"]
    seconds = per_token * (
        train_token_cost(config) * run["train_padded_tokens"] + EVAL_COST * run["eval_padded_tokens"]
    )
    reference_seconds = per_token * (
        reference["train_padded_tokens"] + EVAL_COST * reference["eval_padded_tokens"]
    )
    print(
        json.dumps(
            {
                "run": run,
                "reference": reference,
                "estimated_seconds": round(seconds),
                "reference_estimated_seconds": round(reference_seconds),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

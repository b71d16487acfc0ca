"""Fine-tune a DRUG / AE token classifier on the ADE corpus's annotated sentences (HF Trainer).

The annotated sentences are the Adverse_Event ones. A model that only ever sees sentences with
entities tags something in every sentence it is given (greetings as events, people's names and
phone numbers as drugs), so Not_AE sentences are mixed in too (`negatives_per_positive`): they
carry no AE, and their drug names, which the corpus never annotates, are labelled DRUG where they
match a drug annotated in the training part (a weak label: unlisted drugs stay `O`).
Scoring stays on the Adverse_Event sentences, whose labels are the corpus's own.
"""

from __future__ import annotations

import logging
import random
import re
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pv_model.data import DEFAULT_DATA_DIR, LEAKY_NOTE, Example, data_sha256, load_corpus, split
from pv_model.lay import DEFAULT_LAY_DIR
from pv_model.ner import DEFAULT_NER_DIR, NER_ID2LABEL, NER_LABEL2ID
from pv_model.ner.alignment import AlignedSentence, Span, align_example, bio_labels
from pv_model.training import (
    _versions,
    apply_soup,
    begin_run,
    checkpointed_arguments,
    finish_run,
    run_progress,
    save_model,
    soup_callbacks,
    stopping_callbacks,
    token_counter,
)

log = logging.getLogger(__name__)


@dataclass
class NerTrainConfig:
    """Everything one extractor training run depends on; field names double as CLI flags."""

    data_dir: str = DEFAULT_DATA_DIR
    output_dir: str = DEFAULT_NER_DIR
    base_model: str = ""  # empty: the packaged all-MiniLM-L6-v2
    split: str = "pmid"
    learning_rate: float = 1e-4
    epochs: float = 6.0
    batch_size: int = 16
    eval_batch_size: int = 64
    max_length: int = 128
    warmup_steps: int = 50
    weight_decay: float = 0.01
    lr_scheduler: str = "linear"
    seed: int = 42  # weights, dropout, batch order and the Not_AE sample
    split_seed: int = 42  # which PMIDs go to train / validation / test
    early_stopping_patience: int = 3  # evaluations without a better validation micro F1
    evals_per_epoch: int = 2
    time_budget_minutes: float = 40.0  # stop (keeping the best checkpoint so far) after this long
    limit_train: int = 0  # >0: train on the first N training sentences only (smoke runs, tests)
    freeze_embeddings: bool = False
    num_threads: int = 0  # torch CPU threads; 0 = torch's default (all cores)
    negatives_per_positive: float = 1.0  # Not_AE sentences (weak DRUG labels) per Adverse_Event one
    # "greedy": average the weights of the evaluated checkpoints that keep or raise validation
    # micro entity F1 (best checkpoint first); "none": keep the best checkpoint alone.
    weight_averaging: str = "none"
    # The lay corpus trained on beside ADE-Corpus-V2: every screened sentence of its train families
    # (exact DRUG and AE spans, reactions and none alike); its dev families join validation. "": none.
    lay_dir: str = DEFAULT_LAY_DIR


def annotated(examples: list[Example]) -> list[AlignedSentence]:
    """The aligned Adverse_Event sentences of `examples` (the only ones with annotated spans)."""
    return [align_example(e) for e in examples if e.target]


def weak_negatives(
    examples: list[Example], drug_names: list[str], count: int, seed: int
) -> list[AlignedSentence]:
    """`count` Not_AE sentences of `examples` (seeded sample) with DRUG spans wherever one of
    `drug_names` occurs on word boundaries (longest name first, case-insensitive), and no AE."""
    negatives = [e for e in examples if not e.target]
    chosen = random.Random(seed).sample(negatives, min(count, len(negatives)))
    names = sorted({n.strip().lower() for n in drug_names if n.strip()}, key=lambda n: (-len(n), n))
    if not names:
        return [AlignedSentence(e.text, ()) for e in chosen]
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE)
    return [
        AlignedSentence(e.text, tuple(Span(m.start(), m.end(), "DRUG") for m in pattern.finditer(e.text)))
        for e in chosen
    ]


class TokenDataset:
    """Tokenized sentences with BIO labels; keeps each row's offsets for entity-level metrics."""

    def __init__(self, tokenizer: Any, sentences: list[AlignedSentence], max_length: int) -> None:
        encoded = tokenizer(
            [s.text for s in sentences], truncation=True, max_length=max_length, return_offsets_mapping=True
        )
        self.sentences = sentences
        self.offsets = [[tuple(pair) for pair in row] for row in encoded["offset_mapping"]]
        self.rows = [
            {"input_ids": ids, "attention_mask": mask, "labels": bio_labels(offsets, s.spans)}
            for ids, mask, offsets, s in zip(
                encoded["input_ids"], encoded["attention_mask"], self.offsets, sentences, strict=True
            )
        ]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]


def entities_from_logits(dataset: TokenDataset, logits: np.ndarray) -> list[list[dict[str, Any]]]:
    """Decode (n, tokens, tags) logits of `dataset`'s rows into entity lists (same path as serving)."""
    from pv_model.serving.code.ner_inference import tag_entities

    labels = [NER_ID2LABEL[i] for i in range(len(NER_ID2LABEL))]
    out = []
    for index, sentence in enumerate(dataset.sentences):
        n = len(dataset.rows[index]["input_ids"])
        row = logits[index, :n].astype(np.float64)
        probabilities = np.exp(row - row.max(axis=-1, keepdims=True))
        probabilities /= probabilities.sum(axis=-1, keepdims=True)
        out.append(tag_entities(sentence.text, dataset.offsets[index], probabilities, labels))
    return out


def train_ner(config: NerTrainConfig) -> dict[str, Any]:
    """Fine-tune, keep the checkpoint with the best validation entity F1, save the model folder.

    Returns the validation entity metrics of the saved model (the test part is never looked at).
    """
    import torch
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
    )

    from pv_model.ner.evaluation import entity_metrics, spans_of

    started, base, output = begin_run(config)

    splits = split(load_corpus(config.data_dir), protocol=config.split, seed=config.split_seed)  # type: ignore[arg-type]
    if splits.protocol == "random":
        log.warning(LEAKY_NOTE)
    train_sentences = annotated(splits.train)
    if config.limit_train > 0:
        train_sentences = train_sentences[: config.limit_train]
    negatives: list[AlignedSentence] = []
    if config.negatives_per_positive > 0:
        drug_names = [d for e in splits.train if e.target for d in e.drugs]
        wanted = round(len(train_sentences) * config.negatives_per_positive)
        negatives = weak_negatives(splits.train, drug_names, wanted, config.seed)
        log.info("training on %d AE sentences + %d Not_AE sentences", len(train_sentences), len(negatives))
    validation = annotated(splits.validation)
    lay_train: list[AlignedSentence] = []
    lay_record: dict[str, Any] = {}
    if config.lay_dir:
        from pv_model.lay import lay_sha256, load_lay, token_sentences

        corpus = load_lay(config.lay_dir)
        lay_train = token_sentences(corpus.part("train"))
        lay_dev = token_sentences(corpus.part("dev"))
        validation += lay_dev
        lay_record = {
            "lay_dir": str(config.lay_dir),
            "lay_sha256": lay_sha256(config.lay_dir),
            "train_sentences": len(lay_train),
            "train_sentences_with_entities": sum(bool(s.spans) for s in lay_train),
            "dev_sentences": len(lay_dev),
        }
        log.info("and %d lay sentences (%d dev sentences in validation)", len(lay_train), len(lay_dev))

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForTokenClassification.from_pretrained(
        base, num_labels=len(NER_ID2LABEL), id2label=dict(NER_ID2LABEL), label2id=dict(NER_LABEL2ID)
    )
    if config.freeze_embeddings:
        base_module = getattr(model, model.base_model_prefix, model)
        for parameter in base_module.get_input_embeddings().parameters():
            parameter.requires_grad_(False)
    lengths = [len(ids) for ids in tokenizer([s.text for s in validation])["input_ids"]]
    validation = [validation[i] for i in np.argsort(lengths, kind="stable")]  # little padding
    train_set = TokenDataset(tokenizer, train_sentences + negatives + lay_train, config.max_length)
    val_set = TokenDataset(tokenizer, validation, config.max_length)
    gold = [list(s.spans) for s in validation]

    def compute_metrics(prediction: Any) -> dict[str, float]:
        predicted = spans_of(entities_from_logits(val_set, np.asarray(prediction.predictions)))
        metrics = entity_metrics(gold, predicted)
        return {"f1": metrics["micro"]["f1"], "f1_ae": metrics["AE"]["f1"], "f1_drug": metrics["DRUG"]["f1"]}

    args = checkpointed_arguments(config, len(train_set), "f1", train_sampling_strategy="group_by_length")
    snapshots: list[tuple[float, int, dict[str, Any]]] = []

    tokens = {"train": 0, "eval": 0}
    count_tokens = token_counter(tokens)

    class InOrderTrainer(Trainer):
        """Evaluates in dataset order: with `group_by_length` the stock Trainer also length-shuffles
        evaluation batches, and entity metrics need each prediction next to its own sentence."""

        def compute_loss(self, model, inputs, *args, **kwargs):  # type: ignore[no-untyped-def]
            count_tokens(model, inputs)
            return super().compute_loss(model, inputs, *args, **kwargs)

        def _get_eval_sampler(self, eval_dataset):  # type: ignore[no-untyped-def]
            return torch.utils.data.SequentialSampler(eval_dataset)

    trainer = InOrderTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=val_set,
        data_collator=DataCollatorForTokenClassification(tokenizer),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        callbacks=[*stopping_callbacks(config, started), *soup_callbacks(config.weight_averaging, snapshots)],
    )
    train_result = trainer.train()

    def validation_metrics() -> dict[str, Any]:
        final = trainer.predict(val_set)  # type: ignore[arg-type]
        return entity_metrics(gold, spans_of(entities_from_logits(val_set, np.asarray(final.predictions))))

    def score(state: dict[str, Any]) -> float:
        model.load_state_dict(state)
        return float(validation_metrics()["micro"]["f1"])

    soup = apply_soup(config.weight_averaging, model, snapshots, score)
    training_seconds = time.monotonic() - started
    val_metrics = validation_metrics()

    save_model(model, tokenizer, output)  # the best checkpoint, loaded in place
    record = {
        "task": "token-classification",
        "max_length": config.max_length,
        "data_dir": str(config.data_dir),
        "data_sha256": data_sha256(config.data_dir),
        "split": splits.summary()
        | {
            "train_sentences_used": len(train_sentences),
            "train_not_ae_sentences_used": len(negatives),
            "train_not_ae_drug_spans": sum(len(n.spans) for n in negatives),
            "validation_sentences_used": len(validation),
            "spans_dropped_by_overlap": sum(s.dropped for s in train_sentences),
            "lay": lay_record,
        },
        "cost": {
            "optimizer_steps": trainer.state.global_step,
            "train_sentences": len(train_set),
            "train_padded_tokens": tokens["train"],
            "eval_padded_tokens": tokens["eval"],
            "evaluations": sum("eval_f1" in entry for entry in trainer.state.log_history),
        },
        "lay_dir": str(config.lay_dir),
        "base_model": base,
        "hyperparameters": asdict(config),
        "versions": _versions(),
        "metrics": {
            "validation": val_metrics,
            "best_checkpoint_val_f1": trainer.state.best_metric,
            "weight_averaging": soup,
            **run_progress(
                trainer, train_result, ("epoch", "step", "loss", "eval_f1", "eval_f1_ae", "eval_f1_drug")
            ),
        },
        "training_seconds": round(training_seconds, 1),
    }
    finish_run(output, record)
    return {
        "f1": val_metrics["micro"]["f1"],
        "f1_ae": val_metrics["AE"]["f1"],
        "f1_drug": val_metrics["DRUG"]["f1"],
        "training_seconds": round(training_seconds, 1),
        "output_dir": str(output),
    }

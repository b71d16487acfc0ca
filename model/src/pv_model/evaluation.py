"""Metrics, threshold choice and the `pv-model eval` report (transformer vs TF-IDF baseline)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
)

from pv_model.data import LEAKY_NOTE, Example, load_corpus, split

log = logging.getLogger(__name__)


def binary_metrics(y_true: ArrayLike, scores: ArrayLike, threshold: float = 0.5) -> dict[str, Any]:
    """Precision, recall, F1 for Adverse_Event, accuracy, ROC-AUC and PR-AUC at `threshold`."""
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(scores, dtype=float)
    pred = (s >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, pred, average="binary", pos_label=1, zero_division=0
    )
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    both_classes = len(set(y.tolist())) == 2
    return {
        "threshold": float(threshold),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "accuracy": float(accuracy_score(y, pred)),
        "roc_auc": float(roc_auc_score(y, s)) if both_classes else None,
        "pr_auc": float(average_precision_score(y, s)) if both_classes else None,
        "support": {"adverse_event": int(y.sum()), "not_ae": int(len(y) - y.sum())},
        "confusion": {"tp": int(tp), "fp": int(fp), "fn": int(fn), "tn": int(tn)},
    }


def choose_threshold(y_true: ArrayLike, scores: ArrayLike) -> float:
    """The decision threshold that maximises F1 on the given (validation) labels and scores.

    Returns the midpoint between the chosen score and the next lower one, so the choice does
    not sit exactly on one validation example's score.
    """
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(scores, dtype=float)
    if y.sum() == 0 or y.sum() == len(y):
        return 0.5
    best, _ = _best_f1_cut(y, s)
    lower = s[s < best]
    return float((best + lower.max()) / 2) if lower.size else best


def best_f1(y_true: ArrayLike, scores: ArrayLike) -> float:
    """The highest F1 for Adverse_Event that any threshold reaches on these labels and scores."""
    y = np.asarray(y_true, dtype=int)
    if y.sum() == 0:
        return 0.0
    return _best_f1_cut(y, np.asarray(scores, dtype=float))[1]


def _best_f1_cut(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    precision, recall, thresholds = precision_recall_curve(y, s)
    f1 = 2 * precision[:-1] * recall[:-1] / np.clip(precision[:-1] + recall[:-1], 1e-12, None)
    index = int(np.argmax(f1))
    return float(thresholds[index]), float(f1[index])


def scored_parts(
    examples: list[Example], protocol: str, seed: int, part: str
) -> tuple[list[Example], list[Example], list[Example]]:
    """(train, validation, evaluated) examples: `part` is `test` or `all` (every sentence)."""
    splits = split(examples, protocol=protocol, seed=seed)  # type: ignore[arg-type]
    if part == "all":
        return splits.train, splits.validation, examples
    if part == "test":
        return splits.train, splits.validation, splits.test
    raise ValueError(f"unknown split {part!r}; expected 'test' or 'all'")


def evaluate(
    model_dir: str | Path,
    data_dir: str | Path,
    part: str = "test",
    json_out: str | Path | None = None,
    baseline_train_dir: str | Path | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Score `part` of a corpus folder with a saved model and the TF-IDF baseline; write the report.

    The split protocol and seed are those recorded in the model's `training.json`, so `test`
    is exactly the part the model never saw. With `part="all"` every sentence of `data_dir`
    is scored (a withheld set); the baseline then trains on the model's own training corpus
    (`baseline_train_dir`, default: the `data_dir` recorded in training.json, else `data_dir`).
    """
    from pv_model.baseline import TfidfBaseline
    from pv_model.plots import save_confusion_matrix, save_pr_curves
    from pv_model.serving.code.inference import load_model, predict_scores

    model_dir = Path(model_dir)
    training = json.loads((model_dir / "training.json").read_text())
    protocol, seed = training["split"]["protocol"], training["split"]["seed"]
    threshold = float(training["threshold"])

    examples = load_corpus(data_dir)
    if part == "all":
        train_dir = baseline_train_dir or training.get("data_dir") or data_dir
        if not Path(train_dir).is_dir():
            train_dir = data_dir
        train, validation, _ = scored_parts(load_corpus(train_dir), protocol, seed, "test")
        evaluated = examples
    else:
        train, validation, evaluated = scored_parts(examples, protocol, seed, part)
    y = [e.target for e in evaluated]

    bundle = load_model(model_dir)
    scores = predict_scores(bundle, [e.text for e in evaluated], batch_size=batch_size)

    baseline = TfidfBaseline(seed=seed).fit(train)
    baseline_threshold = choose_threshold([e.target for e in validation], baseline.score(validation))
    baseline_scores = baseline.score(evaluated)

    report: dict[str, Any] = {
        "model_dir": str(model_dir),
        "data_dir": str(data_dir),
        "split": {"protocol": protocol, "seed": seed, "part": part, "sentences": len(evaluated)},
        "notes": [LEAKY_NOTE] if protocol == "random" else [],
        "model": {
            "at_saved_threshold": binary_metrics(y, scores, threshold),
            "at_0.5": binary_metrics(y, scores, 0.5),
        },
        "baseline_tfidf_logreg": {
            "at_validation_threshold": binary_metrics(y, baseline_scores, baseline_threshold),
            "at_0.5": binary_metrics(y, baseline_scores, 0.5),
        },
    }
    if json_out:
        out = Path(json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        stem = out.with_suffix("")
        pr_png, cm_png = Path(f"{stem}-pr-curve.png"), Path(f"{stem}-confusion.png")
        title = figure_title(protocol, part)
        save_pr_curves(
            {"transformer": (y, scores), "tf-idf + logreg": (y, baseline_scores)}, pr_png, title=title
        )
        save_confusion_matrix(report["model"]["at_saved_threshold"]["confusion"], cm_png, title=title)
        report["figures"] = {"pr_curve": str(pr_png), "confusion_matrix": str(cm_png)}
        out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def figure_title(protocol: str, part: str) -> str:
    """The title of a report's figures: the split it scored, marked when it is the leaky one."""
    return f"{protocol} split, {part}" + (" (LEAKY)" if protocol == "random" else "")


def report_header(report: dict[str, Any]) -> list[str]:
    """The first lines of a printed report: which split and part, and its notes."""
    split_info = report["split"]
    lines = [f"split: {split_info['protocol']} / {split_info['part']} ({split_info['sentences']} sentences)"]
    return lines + [f"NOTE: {note}" for note in report["notes"]]


def format_report(report: dict[str, Any]) -> str:
    """A short human-readable table of a report (numbers only, no text)."""
    lines = report_header(report)
    lines.append(f"{'system':<38}{'thr':>6}{'P':>7}{'R':>7}{'F1':>7}{'acc':>7}{'ROC':>7}{'PR-AUC':>8}")
    for system, variants in (
        ("transformer", report["model"]),
        ("tfidf+logreg", report["baseline_tfidf_logreg"]),
    ):
        for name, m in variants.items():
            roc = "-" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
            pr = "-" if m["pr_auc"] is None else f"{m['pr_auc']:.4f}"
            lines.append(
                f"{system + ' ' + name:<38}{m['threshold']:>6.3f}{m['precision']:>7.4f}{m['recall']:>7.4f}"
                f"{m['f1']:>7.4f}{m['accuracy']:>7.4f}{roc:>7}{pr:>8}"
            )
    return "\n".join(lines)

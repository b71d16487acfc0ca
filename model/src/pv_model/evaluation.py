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


def recorded_lay_dir(training: dict[str, Any], lay_dir: str | Path | None) -> str:
    """The lay corpus to score: `lay_dir` when given ("" for none), else the one the model's
    `training.json` names, when that folder exists here."""
    if lay_dir is not None:
        return str(lay_dir)
    recorded = str(training.get("lay_dir") or "")
    return recorded if recorded and Path(recorded, "batches").is_dir() else ""


def evaluate_lay(
    bundle: Any,
    documents: list[Any],
    threshold: float,
    document_threshold: float | None,
    window: int = 0,
    batch_size: int = 32,
    baseline: Any = None,
    baseline_threshold: float | None = None,
) -> tuple[dict[str, Any], dict[str, tuple[list[int], list[float]]]]:
    """Scores of lay documents, sentence by sentence and as the pipeline judges a document (its
    highest sentence score): P/R/F1 of both, documents flagged by kind and register, and the
    TF-IDF baseline's when given. Also returns the labels and scores of each curve, for figures."""
    from pv_model.lay import document_groups, document_scores, sentence_examples
    from pv_model.serving.code.inference import predict_scores

    examples = sentence_examples(documents, window=window)
    owners = document_groups(documents, window=window)[1]
    labels = [e.target for e in examples]
    scores = predict_scores(bundle, [e.text for e in examples], batch_size=batch_size)
    doc_labels = [d.target for d in documents]
    doc_scores = document_scores(scores, owners, len(documents))
    doc_cut = threshold if document_threshold is None else document_threshold
    flagged = [score >= doc_cut for score in doc_scores]

    def by(key: Any) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for doc, hit in zip(documents, flagged, strict=True):
            row = table.setdefault(key(doc), {"documents": 0, "flagged": 0})
            row["documents"] += 1
            row["flagged"] += int(hit)
        return dict(sorted(table.items()))

    report: dict[str, Any] = {
        "documents": len(documents),
        "sentences": len(examples),
        "sentence_level": {
            "at_saved_threshold": binary_metrics(labels, scores, threshold),
            "at_0.5": binary_metrics(labels, scores, 0.5),
        },
        "document_level": {
            "at_document_threshold": binary_metrics(doc_labels, doc_scores, doc_cut),
            "at_saved_threshold": binary_metrics(doc_labels, doc_scores, threshold),
        },
        "flagged_by_kind": by(lambda d: d.kind),
        "flagged_by_register": by(lambda d: d.register),
        "flagged_by_language": by(lambda d: d.lang),
    }
    curves = {"transformer, sentences": (labels, scores), "transformer, documents": (doc_labels, doc_scores)}
    if baseline is not None and baseline_threshold is not None:
        base_scores = baseline.score(examples)
        base_docs = document_scores(base_scores, owners, len(documents))
        report["baseline_tfidf_logreg"] = {
            "sentence_level": binary_metrics(labels, base_scores, baseline_threshold),
            "document_level": binary_metrics(doc_labels, base_docs, baseline_threshold),
        }
        curves["tf-idf + logreg, sentences"] = (labels, base_scores)
    return report, curves


def evaluate(
    model_dir: str | Path,
    data_dir: str | Path,
    part: str = "test",
    json_out: str | Path | None = None,
    baseline_train_dir: str | Path | None = None,
    batch_size: int = 32,
    lay_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Score `part` of a corpus folder with a saved model and the TF-IDF baseline; write the report.

    The split protocol and seed are those recorded in the model's `training.json`, so `test`
    is exactly the part the model never saw. With `part="all"` every sentence of `data_dir`
    is scored (a withheld set); the baseline then trains on the model's own training corpus
    (`baseline_train_dir`, default: the `data_dir` recorded in training.json, else `data_dir`).

    The lay corpus (`lay_dir`, default: the one training.json records) is scored too, under
    `lay`: its test families (`part="all"`: every document), sentence by sentence and by
    document as the pipeline judges one, at the thresholds the model saved.
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
    lay_curves: dict[str, tuple[list[int], list[float]]] = {}
    lay_source = recorded_lay_dir(training, lay_dir)
    if lay_source:
        from pv_model.lay import load_lay, sentence_examples

        window = int(training.get("hyperparameters", {}).get("context_window", 0))
        corpus = load_lay(lay_source)
        lay_baseline = TfidfBaseline(seed=seed).fit(train + sentence_examples(corpus.part("train")))
        lay_validation = validation + sentence_examples(corpus.part("dev"))
        lay_baseline_threshold = choose_threshold(
            [e.target for e in lay_validation], lay_baseline.score(lay_validation)
        )
        lay_report, lay_curves = evaluate_lay(
            bundle,
            corpus.part("test" if part == "test" else "all"),
            threshold,
            training.get("document_threshold"),
            window=window,
            batch_size=batch_size,
            baseline=lay_baseline,
            baseline_threshold=lay_baseline_threshold,
        )
        report["lay"] = {"lay_dir": lay_source, "part": part, **lay_report}
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
        if lay_curves:
            lay_title = f"lay corpus, {part}"
            figures = {
                "lay_pr_curve": save_pr_curves(lay_curves, Path(f"{stem}-lay-pr-curve.png"), title=lay_title),
                "lay_document_confusion_matrix": save_confusion_matrix(
                    report["lay"]["document_level"]["at_document_threshold"]["confusion"],
                    Path(f"{stem}-lay-document-confusion.png"),
                    title=f"{lay_title}: documents",
                ),
                "lay_sentence_confusion_matrix": save_confusion_matrix(
                    report["lay"]["sentence_level"]["at_saved_threshold"]["confusion"],
                    Path(f"{stem}-lay-sentence-confusion.png"),
                    title=f"{lay_title}: sentences",
                ),
            }
            report["figures"] |= {name: str(path) for name, path in figures.items()}
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
    rows: list[tuple[str, dict[str, Any]]] = []
    lines.append(f"{'system':<38}{'thr':>6}{'P':>7}{'R':>7}{'F1':>7}{'acc':>7}{'ROC':>7}{'PR-AUC':>8}")
    for system, variants in (
        ("transformer", report["model"]),
        ("tfidf+logreg", report["baseline_tfidf_logreg"]),
    ):
        rows += [(f"{system} {name}", m) for name, m in variants.items()]
    lay = report.get("lay")
    if lay:
        for level in ("sentence_level", "document_level"):
            rows += [(f"lay {level.split('_')[0]}s {name}", m) for name, m in lay[level].items()]
        for level, m in lay.get("baseline_tfidf_logreg", {}).items():
            rows.append((f"lay {level.split('_')[0]}s tfidf+logreg", m))
    for name, m in rows:
        roc = "-" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
        pr = "-" if m["pr_auc"] is None else f"{m['pr_auc']:.4f}"
        lines.append(
            f"{name:<38}{m['threshold']:>6.3f}{m['precision']:>7.4f}{m['recall']:>7.4f}"
            f"{m['f1']:>7.4f}{m['accuracy']:>7.4f}{roc:>7}{pr:>8}"
        )
    if lay:
        lines.append(
            f"lay corpus ({lay['part']}): {lay['documents']} documents, {lay['sentences']} sentences"
        )
    return "\n".join(lines)

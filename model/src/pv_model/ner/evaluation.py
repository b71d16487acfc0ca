"""Entity-level metrics (exact span match) and the `pv-model eval-ner` report with its figure."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from pv_model.data import LEAKY_NOTE, load_corpus
from pv_model.evaluation import figure_title, recorded_lay_dir, report_header, scored_parts
from pv_model.ner import ENTITY_TYPES
from pv_model.ner.alignment import Span
from pv_model.ner.training import annotated

MISSED, SPURIOUS = "missed", "spurious"


def spans_of(entities: list[list[dict[str, Any]]]) -> list[list[Span]]:
    """Entity dicts (the endpoint contract) as spans, per sentence."""
    return [[Span(e["start"], e["end"], e["type"]) for e in sentence] for sentence in entities]


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "support": tp + fn,
    }


def _overlap_prf(c: Counter[str]) -> dict[str, Any]:
    # Precision over predicted spans that touch a gold one, recall over gold spans touched.
    precision = c["hit_predicted"] / (c["hit_predicted"] + c["fp"]) if c["hit_predicted"] + c["fp"] else 0.0
    recall = c["hit_gold"] / (c["hit_gold"] + c["fn"]) if c["hit_gold"] + c["fn"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": c["hit_gold"] + c["fn"]}


def entity_metrics(gold: list[list[Span]], predicted: list[list[Span]]) -> dict[str, Any]:
    """Precision / recall / F1 per entity type and micro-averaged; a hit needs type, start and end equal.

    `overlap` scores the same way but counts a predicted span as a hit when it overlaps a gold span
    of its type (a lenient view: boundary errors are not misses there).
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in ENTITY_TYPES}
    overlap: dict[str, Counter[str]] = {kind: Counter() for kind in ENTITY_TYPES}
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        gold_set, predicted_set = set(gold_spans), set(predicted_spans)
        for kind in ENTITY_TYPES:
            g = {s for s in gold_set if s.type == kind}
            p = {s for s in predicted_set if s.type == kind}
            counts[kind].update(tp=len(g & p), fp=len(p - g), fn=len(g - p))

            def touches(a: Span, others: set[Span]) -> bool:
                return any(a.start < b.end and b.start < a.end for b in others)

            overlap[kind].update(
                hit_predicted=sum(touches(s, g) for s in p),
                fp=sum(not touches(s, g) for s in p),
                hit_gold=sum(touches(s, p) for s in g),
                fn=sum(not touches(s, p) for s in g),
            )
    out: dict[str, Any] = {kind: _prf(c["tp"], c["fp"], c["fn"]) for kind, c in counts.items()}
    out["micro"] = _prf(*(sum(c[k] for c in counts.values()) for k in ("tp", "fp", "fn")))
    out["overlap"] = {kind: _overlap_prf(c) for kind, c in overlap.items()}
    return out


def type_confusion(gold: list[list[Span]], predicted: list[list[Span]]) -> dict[str, dict[str, int]]:
    """Counts of (gold type -> predicted type) over spans with the same boundaries.

    A gold span no prediction has exactly is `missed`; a prediction no gold span has exactly
    comes from `spurious`.
    """
    rows = (*ENTITY_TYPES, SPURIOUS)
    table = {row: dict.fromkeys((*ENTITY_TYPES, MISSED), 0) for row in rows}
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        by_edges = {(s.start, s.end): s.type for s in predicted_spans}
        gold_edges = {(s.start, s.end) for s in gold_spans}
        for span in gold_spans:
            table[span.type][by_edges.get((span.start, span.end), MISSED)] += 1
        for span in predicted_spans:
            if (span.start, span.end) not in gold_edges:
                table[SPURIOUS][span.type] += 1
    return table


def save_figure(report: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Per-type precision/recall/F1 bars beside the entity-type confusion table, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (bars, grid) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=100)
    names = [*ENTITY_TYPES, "micro"]
    width = 0.26
    for offset, metric in enumerate(("precision", "recall", "f1")):
        values = [report["per_type"][n][metric] if n != "micro" else report["micro"][metric] for n in names]
        positions = [i + (offset - 1) * width for i in range(len(names))]
        drawn = bars.bar(positions, values, width, label=metric)
        bars.bar_label(drawn, fmt="%.2f", fontsize=7)
    bars.set_xticks(range(len(names)), labels=names)
    bars.set(ylim=(0, 1.2), ylabel="exact-span score", title=title)
    bars.legend(loc="upper center", ncol=3, fontsize=8)
    confusion = report["confusion"]
    rows, cols = list(confusion), list(next(iter(confusion.values())))
    cells = [[confusion[r][c] for c in cols] for r in rows]
    grid.imshow(cells, cmap="Blues")
    darkest = max(max(row) for row in cells) or 1
    for i, row in enumerate(cells):
        for j, value in enumerate(row):
            color = "white" if value > darkest / 2 else "black"
            grid.text(j, i, str(value), ha="center", va="center", fontsize=11, color=color)
    grid.set_xticks(range(len(cols)), labels=cols)
    grid.set_yticks(range(len(rows)), labels=rows)
    grid.set(xlabel="predicted (same span)", ylabel="gold", title="entity types")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def evaluate_lay_ner(bundle: Any, documents: list[Any], batch_size: int = 32) -> dict[str, Any]:
    """Entity metrics of an extractor on lay documents' screened sentences (exact DRUG and AE spans
    of every sentence, with or without entities), and the AE mentions it finds in the sentences
    of documents that report no adverse event."""
    from pv_model.lay import document_sentences, token_sentences
    from pv_model.serving.code.ner_inference import predict_entities

    sentences = token_sentences(documents)
    gold = [list(s.spans) for s in sentences]
    predicted = spans_of(predict_entities(bundle, [s.text for s in sentences], batch_size=batch_size))
    metrics = entity_metrics(gold, predicted)
    owners = [doc.target for doc in documents for _ in document_sentences(doc)]
    in_not_ae = [
        sum(s.type == "AE" for s in spans) for spans, ae in zip(predicted, owners, strict=True) if not ae
    ]
    return {
        "documents": len(documents),
        "sentences": len(sentences),
        "f1_ae": metrics["AE"]["f1"],
        "f1_drug": metrics["DRUG"]["f1"],
        "f1_micro": metrics["micro"]["f1"],
        "per_type": {kind: metrics[kind] for kind in ENTITY_TYPES},
        "micro": metrics["micro"],
        "overlap": metrics["overlap"],
        "confusion": type_confusion(gold, predicted),
        "not_ae_documents": {
            "documents": sum(not d.target for d in documents),
            "sentences": len(in_not_ae),
            "ae_mentions": sum(in_not_ae),
            "sentences_with_ae_mention": sum(n > 0 for n in in_not_ae),
        },
    }


def evaluate_ner(
    model_dir: str | Path,
    data_dir: str | Path,
    part: str = "test",
    json_out: str | Path | None = None,
    batch_size: int = 32,
    lay_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Score the annotated sentences of `part` (`test` of the model's own split, or `all`).

    The split protocol and seed come from the model's `training.json`, so `test` is exactly the
    part the model never saw. The report holds `f1_ae`, `f1_drug`, `f1_micro`, per-type and
    micro P/R/F1, overlap scores and the type confusion; with `json_out`, a PNG goes beside it.

    `not_ae_sentences` counts the AE mentions the model finds in the part's Not_AE sentences,
    which have no adverse event by the corpus's definition (their drugs are not annotated, so
    only events are counted): a false-alarm rate the span F1, scored on AE sentences, cannot show.

    `lay` scores the lay corpus's test families (`all`: every document; `lay_dir` default: the one
    training.json names) with `evaluate_lay_ner`.
    """
    from pv_model.serving.code.ner_inference import load_model, predict_entities

    model_dir = Path(model_dir)
    training = json.loads((model_dir / "training.json").read_text())
    protocol, seed = training["split"]["protocol"], training["split"]["seed"]
    _, _, evaluated = scored_parts(load_corpus(data_dir), protocol, seed, part)
    sentences = annotated(evaluated)
    gold = [list(s.spans) for s in sentences]

    bundle = load_model(model_dir)
    predicted = spans_of(predict_entities(bundle, [s.text for s in sentences], batch_size=batch_size))
    metrics = entity_metrics(gold, predicted)
    not_ae = [e.text for e in evaluated if not e.target]
    found_in_not_ae = predict_entities(bundle, not_ae, batch_size=batch_size)
    ae_in_not_ae = [sum(e["type"] == "AE" for e in entities) for entities in found_in_not_ae]
    report: dict[str, Any] = {
        "model_dir": str(model_dir),
        "data_dir": str(data_dir),
        "split": {"protocol": protocol, "seed": seed, "part": part, "sentences": len(sentences)},
        "notes": [LEAKY_NOTE] if protocol == "random" else [],
        "f1_ae": metrics["AE"]["f1"],
        "f1_drug": metrics["DRUG"]["f1"],
        "f1_micro": metrics["micro"]["f1"],
        "per_type": {kind: metrics[kind] for kind in ENTITY_TYPES},
        "micro": metrics["micro"],
        "overlap": metrics["overlap"],
        "confusion": type_confusion(gold, predicted),
        "not_ae_sentences": {
            "sentences": len(not_ae),
            "ae_mentions": sum(ae_in_not_ae),
            "sentences_with_ae_mention": sum(n > 0 for n in ae_in_not_ae),
            "ae_mentions_per_sentence": sum(ae_in_not_ae) / len(not_ae) if not_ae else 0.0,
        },
    }
    lay_source = recorded_lay_dir(training, lay_dir)
    if lay_source:
        from pv_model.lay import load_lay

        documents = load_lay(lay_source).part("test" if part == "test" else "all")
        report["lay"] = {
            "lay_dir": lay_source,
            "part": part,
            **evaluate_lay_ner(bundle, documents, batch_size),
        }
    if json_out:
        out = Path(json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        png = Path(f"{out.with_suffix('')}-scores.png")
        save_figure(report, png, title=figure_title(protocol, part))
        report["figures"] = {"scores": str(png)}
        if lay_source:
            lay_png = Path(f"{out.with_suffix('')}-lay-scores.png")
            save_figure(report["lay"], lay_png, title=f"lay corpus, {part}")
            report["figures"]["lay_scores"] = str(lay_png)
        out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def _type_rows(prefix: str, block: dict[str, Any]) -> list[str]:
    rows = []
    for kind in (*ENTITY_TYPES, "micro"):
        m = block["micro"] if kind == "micro" else block["per_type"][kind]
        overlap = "" if kind == "micro" else f"{block['overlap'][kind]['f1']:>12.4f}"
        scores = f"{m['precision']:>8.4f}{m['recall']:>8.4f}{m['f1']:>8.4f}"
        rows.append(f"{prefix + kind:<12}{scores}{m['support']:>9}{overlap}")
    return rows


def format_report(report: dict[str, Any]) -> str:
    """A short human-readable table of a report (numbers only, no text)."""
    lines = report_header(report)
    lines.append(f"{'type':<12}{'P':>8}{'R':>8}{'F1':>8}{'support':>9}{'overlap F1':>12}")
    lines += _type_rows("", report)
    if "not_ae_sentences" in report:
        n = report["not_ae_sentences"]
        lines.append(
            f"Not_AE sentences with an AE mention: {n['sentences_with_ae_mention']} of {n['sentences']}"
            f" ({n['ae_mentions']} mentions)"
        )
    lay = report.get("lay")
    if lay:
        lines.append(
            f"lay corpus ({lay['part']}): {lay['documents']} documents, {lay['sentences']} sentences"
        )
        lines += _type_rows("lay ", lay)
        n = lay["not_ae_documents"]
        lines.append(
            f"lay sentences of not_AE documents with an AE mention: {n['sentences_with_ae_mention']} of"
            f" {n['sentences']} ({n['ae_mentions']} mentions)"
        )
    return "\n".join(lines)

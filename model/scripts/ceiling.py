"""The ceiling probes of model/EXPERIMENTS.md ("Fourth session"), over the serving code.

Every figure of that section that `pv-model eval` / `eval-ner` do not print comes from here:

    .venv/bin/python model/scripts/ceiling.py classifier .artifacts/exp/c1 [.artifacts/exp/c2 ...]
        [--extractor .artifacts/exp/n4]
        validation best F1 of each classifier and of their averaged probabilities; with an
        extractor, the stacked combinations; the best F1 any threshold reaches on the test part
        (a diagnosis: it looks at test labels); where the first model's validation false positives
        come from (abstracts with no annotated AE at all, or not)
    .venv/bin/python model/scripts/ceiling.py extractor .artifacts/exp/n4 [...]
        validation AE F1 on AE sentences, AE mentions in Not_AE sentences, the all-sentence AE F1,
        and the first model's AE errors by kind (exact, longer, shorter, shifted, missed, spurious)
    .venv/bin/python model/scripts/ceiling.py boundaries
        how often a severity or course word right before an annotated event is inside its span

Scores are those the endpoints return (`inference.predict_scores`, `ner_inference.predict_entities`)
on the `pmid` split with seed 42; nothing here trains or chooses anything.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

import numpy as np
from pv_model.data import DEFAULT_DATA_DIR, Example, load_corpus, split
from pv_model.evaluation import best_f1, choose_threshold
from pv_model.ner.training import annotated
from pv_model.serving.code import inference, ner_inference

MODIFIERS = (
    "severe", "transient", "acute", "reversible", "fatal",
    "life-threatening", "persistent", "mild", "chronic", "progressive",
)  # fmt: skip


def _ae_score(entities: list[list[dict]]) -> np.ndarray:
    """Per sentence, the highest AE entity score (0 when none): the extractor as a detector."""
    return np.array([max([e["score"] for e in es if e["type"] == "AE"], default=0.0) for es in entities])


def classifier(args: argparse.Namespace, examples: list[Example]) -> None:
    parts = split(examples, "pmid", 42)
    texts = {p: [e.text for e in getattr(parts, p)] for p in ("validation", "test")}
    labels = {p: np.array([e.target for e in getattr(parts, p)]) for p in texts}
    scores = {}
    for folder in args.models:
        model = inference.load_model(folder)
        scores[folder] = {p: np.array(inference.predict_scores(model, t, 64)) for p, t in texts.items()}
    for folder, s in scores.items():
        print(
            f"{folder}: validation best F1 {best_f1(labels['validation'], s['validation']):.4f},"
            f" test best F1 at any threshold {best_f1(labels['test'], s['test']):.4f}"
        )
    mean = np.mean([s["validation"] for s in scores.values()], axis=0)
    if len(scores) > 1:
        ensemble = best_f1(labels["validation"], mean)
        print(f"mean of {len(scores)} classifiers: validation best F1 {ensemble:.4f}")
    if args.extractor:
        bundle = ner_inference.load_model(args.extractor)
        ae = _ae_score(ner_inference.predict_entities(bundle, texts["validation"], 64))
        first = next(iter(scores.values()))["validation"]
        y = labels["validation"]
        print(f"extractor alone: validation best F1 {best_f1(y, ae):.4f}")
        for name, combined in {
            "mean(classifier, extractor)": (first + ae) / 2,
            "0.8 classifier + 0.2 extractor": 0.8 * first + 0.2 * ae,
            "classifier x extractor^0.3": first * ae**0.3,
        }.items():
            print(f"{name}: validation best F1 {best_f1(y, combined):.4f}")
    first_scores = next(iter(scores.values()))["validation"]
    threshold = choose_threshold(labels["validation"], first_scores)
    annotated_pmids: dict[str, int] = defaultdict(int)
    for e in examples:
        annotated_pmids[e.pmid] |= e.target
    flagged = zip(parts.validation, first_scores, strict=True)
    false_positives = [e for e, score in flagged if not e.target and score >= threshold]
    unannotated = sum(1 for e in false_positives if not annotated_pmids[e.pmid])
    without = len(annotated_pmids) - sum(annotated_pmids.values())
    print(
        f"validation false positives at {threshold:.4f}: {len(false_positives)}, {unannotated} from"
        f" abstracts with no annotated AE ({without} of {len(annotated_pmids)} PMIDs have none)"
    )


def extractor(args: argparse.Namespace, examples: list[Example]) -> None:
    validation = split(examples, "pmid", 42).validation
    positives = annotated(validation)
    negatives = [e.text for e in validation if not e.target]
    for index, folder in enumerate(args.models):
        bundle = ner_inference.load_model(folder)
        predicted = ner_inference.predict_entities(bundle, [s.text for s in positives], 64)
        kinds: Counter[str] = Counter()
        for sentence, entities in zip(positives, predicted, strict=True):
            gold = {(s.start, s.end) for s in sentence.spans if s.type == "AE"}
            pred = {(e["start"], e["end"]) for e in entities if e["type"] == "AE"}
            for g in gold:
                touching = [p for p in pred if p[0] < g[1] and g[0] < p[1]]
                if g in pred:
                    kinds["exact"] += 1
                elif not touching:
                    kinds["missed"] += 1
                elif touching[0][0] <= g[0] and touching[0][1] >= g[1]:
                    kinds["predicted longer"] += 1
                elif touching[0][0] >= g[0] and touching[0][1] <= g[1]:
                    kinds["predicted shorter"] += 1
                else:
                    kinds["shifted"] += 1
            kinds["spurious"] += sum(1 for p in pred if not any(p[0] < g[1] and g[0] < p[1] for g in gold))
            kinds["tp"] += len(gold & pred)
            kinds["fp"] += len(pred - gold)
            kinds["fn"] += len(gold - pred)
        extra = sum(
            1 for es in ner_inference.predict_entities(bundle, negatives, 64) for e in es if e["type"] == "AE"
        )
        tp, fp, fn = kinds.pop("tp"), kinds.pop("fp"), kinds.pop("fn")
        print(
            f"{folder}: validation AE F1 (AE sentences) {2 * tp / (2 * tp + fp + fn):.4f},"
            f" AE mentions in {len(negatives)} Not_AE sentences {extra},"
            f" AE F1 over all sentences {2 * tp / (2 * tp + fp + fn + extra):.4f}"
        )
        if index == 0:
            spans = sum(v for k, v in kinds.items() if k != "spurious")
            print(f"  AE errors of {spans} gold spans: {dict(kinds)}")


def boundaries(args: argparse.Namespace, examples: list[Example]) -> None:
    inside: Counter[str] = Counter()
    outside: Counter[str] = Counter()
    for sentence in annotated(split(examples, "pmid", 42).train):
        for span in sentence.spans:
            if span.type != "AE":
                continue
            words = sentence.text[span.start : span.end].lower().split()
            if words and words[0] in MODIFIERS:
                inside[words[0]] += 1
            before = sentence.text[: span.start].lower().split()
            if before and before[-1] in MODIFIERS:
                outside[before[-1]] += 1
    for word in MODIFIERS:
        print(f"{word:18s} inside the span {inside[word]:4d}, just before it (left out) {outside[word]:4d}")
    print(f"all: inside {sum(inside.values())}, left out {sum(outside.values())}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=DEFAULT_DATA_DIR)
    commands = parser.add_subparsers(dest="command", required=True)
    probe = commands.add_parser("classifier")
    probe.add_argument("models", nargs="+")
    probe.add_argument("--extractor")
    probe.set_defaults(run=classifier)
    probe = commands.add_parser("extractor")
    probe.add_argument("models", nargs="+")
    probe.set_defaults(run=extractor)
    commands.add_parser("boundaries").set_defaults(run=boundaries)
    args = parser.parse_args()
    args.run(args, load_corpus(args.data))


if __name__ == "__main__":
    main()

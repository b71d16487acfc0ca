"""Entity-level scoring and the `pv-model eval-ner` report (JSON + PNG)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pv_model.cli import main
from pv_model.data import load_corpus, split, synthetic_examples, write_corpus
from pv_model.ner.alignment import Span
from pv_model.ner.evaluation import entity_metrics, evaluate_ner, type_confusion
from pv_model.ner.tiny import build_tiny_extractor
from pv_model.serving.code import ner_inference

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(synthetic_examples(n_pmids=60), tmp_path_factory.mktemp("corpus") / "ade")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_extractor(tmp_path_factory.mktemp("tiny") / "ner-tiny", seed=5)


def test_exact_span_metrics_per_type_and_micro() -> None:
    gold = [[Span(0, 4, "AE"), Span(10, 17, "DRUG")], [Span(0, 7, "DRUG")]]
    predicted = [[Span(0, 4, "AE"), Span(10, 16, "DRUG")], [Span(0, 7, "DRUG"), Span(8, 12, "AE")]]

    metrics = entity_metrics(gold, predicted)

    assert metrics["AE"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": 2 / 3,
        "tp": 1,
        "fp": 1,
        "fn": 0,
        "support": 1,
    }
    assert metrics["DRUG"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "tp": 1,
        "fp": 1,
        "fn": 1,
        "support": 2,
    }
    assert metrics["micro"]["f1"] == pytest.approx(4 / 7)
    # The boundary error counts as a hit when overlaps are enough.
    assert metrics["overlap"]["DRUG"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert metrics["overlap"]["AE"] == {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}


def test_a_span_with_the_right_edges_and_the_wrong_type_is_a_type_confusion() -> None:
    gold = [[Span(0, 4, "AE"), Span(10, 17, "DRUG")]]
    predicted = [[Span(0, 4, "DRUG"), Span(20, 25, "AE")]]

    table = type_confusion(gold, predicted)

    assert table == {
        "DRUG": {"DRUG": 0, "AE": 0, "missed": 1},
        "AE": {"DRUG": 1, "AE": 0, "missed": 0},
        "spurious": {"DRUG": 0, "AE": 1, "missed": 0},
    }


def _drugs_right_effects_wrong(bundle, texts: list[str], batch_size: int = 32) -> list[list[dict]]:
    """A stand-in tagger: finds every drug of the synthetic sentences and calls 'patient' an AE."""
    answers = []
    for text in texts:
        entities = []
        if match := re.search(r"treatment with (\w+)", text):
            entities.append(
                {"type": "DRUG", "text": match[1], "start": match.start(1), "end": match.end(1), "score": 1.0}
            )
        if match := re.search(r"patient", text):
            entities.append(
                {"type": "AE", "text": match[0], "start": match.start(), "end": match.end(), "score": 1.0}
            )
        answers.append(entities)
    return answers


def test_report_scores_the_test_part_with_f1_per_type(corpus, model_dir, tmp_path, monkeypatch) -> None:
    """GIVEN a tagger right on every drug and wrong on every effect WHEN evaluated THEN f1_drug 1, f1_ae 0."""
    monkeypatch.setattr(ner_inference, "predict_entities", _drugs_right_effects_wrong)
    test_part = split(load_corpus(corpus), protocol="pmid", seed=42).test
    n = sum(e.target for e in test_part)

    report = evaluate_ner(model_dir, corpus, part="test", json_out=tmp_path / "eval" / "ner.json")

    assert n > 0
    assert report["split"] == {"protocol": "pmid", "seed": 42, "part": "test", "sentences": n}
    assert (report["f1_drug"], report["f1_ae"]) == (1.0, 0.0)
    assert report["f1_micro"] == pytest.approx(2 * 0.5 * 0.5)
    assert report["per_type"]["AE"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "tp": 0,
        "fp": n,
        "fn": n,
        "support": n,
    }
    assert report["confusion"]["AE"]["missed"] == n
    assert report["confusion"]["spurious"]["AE"] == n


def test_eval_ner_command_writes_the_json_and_the_png_beside_it(corpus, model_dir, tmp_path, capsys) -> None:
    out = tmp_path / "reports" / "ae-extractor.json"

    code = main(
        ["eval-ner", "--model", str(model_dir), "--data", str(corpus), "--split", "all", "--json", str(out)]
    )

    report = json.loads(out.read_text())
    png = tmp_path / "reports" / "ae-extractor-scores.png"
    assert code == 0
    assert report["figures"] == {"scores": str(png)}
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert report["split"]["sentences"] == sum(e.target for e in load_corpus(corpus))
    assert report["f1_ae"] == report["per_type"]["AE"]["f1"]
    assert report["f1_drug"] == report["per_type"]["DRUG"]["f1"]
    assert f"report: {out}" in capsys.readouterr().out


def _names_drugs_and_calls_every_day_an_event(
    bundle, texts: list[str], batch_size: int = 32
) -> list[list[dict]]:
    """A stand-in tagger for the synthetic lay corpus: right on every drug, and 'every day' as an AE."""
    answers = []
    for text in texts:
        entities = []
        for pattern, kind in (
            (r"Lipitor|zoloft|metformin|Ventolin|ibuprofen|Keppra", "DRUG"),
            (r"every day", "AE"),
        ):
            for match in re.finditer(pattern, text):
                entities.append(
                    {"type": kind, "text": match[0], "start": match.start(), "end": match.end(), "score": 1.0}
                )
        answers.append(entities)
    return answers


def test_report_scores_the_lay_test_families_and_counts_events_found_in_documents_without_one(
    corpus, model_dir, tmp_path, monkeypatch
) -> None:
    from pv_model.lay import load_lay, synthetic_lay_documents, token_sentences, write_lay_corpus

    lay = write_lay_corpus(synthetic_lay_documents(40, seed=2), tmp_path / "lay")
    monkeypatch.setattr(ner_inference, "predict_entities", _names_drugs_and_calls_every_day_an_event)
    test_docs = load_lay(lay).part("test")

    report = evaluate_ner(
        model_dir, corpus, part="test", lay_dir=lay, json_out=tmp_path / "eval" / "ner.json"
    )

    scored = report["lay"]
    assert scored["documents"] == len(test_docs) > 0
    assert scored["sentences"] == len(token_sentences(test_docs))
    assert scored["f1_drug"] == 1.0
    assert scored["per_type"]["AE"]["tp"] == 0  # "every day" is no annotated reaction
    assert scored["not_ae_documents"]["ae_mentions"] == 0  # the negated emails never say "every day"
    assert scored["not_ae_documents"]["documents"] == sum(not d.target for d in test_docs)
    assert (tmp_path / "eval" / "ner-lay-scores.png").read_bytes()[:8] == PNG_MAGIC
    assert "lay" not in evaluate_ner(model_dir, corpus, part="test")  # the tiny model names no lay corpus

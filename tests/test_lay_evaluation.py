"""`pv evaluate-lay`: screening rules and case intelligence scored document by document on lay text."""

from __future__ import annotations

import json
from pathlib import Path

import endpoint_double
from pv_local.cli import main
from pv_local.lay_evaluation import evaluate
from pv_model.lay import load_lay, write_lay_corpus


def _documents() -> list[dict]:
    base = {"register": "social", "voice": "patient", "lang": "en", "serious": False, "seriousness": []}
    return [
        {
            **base,
            "family": "b-statin-legs",
            "product": "Lipitor",
            "label": "AE",
            "kind": "ae",
            "text": "2 weeks on this and my muscles ache, awful",
            "spans": [{"type": "AE", "text": "muscles ache", "norm": "myalgia"}],
        },
        {
            **base,
            "family": "b-statin-legs",
            "label": "not_AE",
            "kind": "no_event",
            "text": "picked up my lipitor refill today, queue was huge",
            "spans": [{"type": "DRUG", "text": "lipitor", "norm": "atorvastatin", "role": "other"}],
        },
        {
            **base,
            "family": "b-statin-legs",
            "label": "not_AE",
            "kind": "indication",
            "text": "I take metformin for my diabetes, no problems",
            "spans": [
                {"type": "DRUG", "text": "metformin", "norm": "metformin", "role": "other"},
                {"type": "INDICATION", "text": "diabetes", "norm": "diabetes"},
            ],
        },
        {
            **base,
            "family": "b-statin-legs",
            "product": "Lipitor",
            "label": "not_AE",
            "kind": "label_text",
            "text": "Lipitor leaflet: common side effects include headaches and muscle aches.",
            "spans": [{"type": "DRUG", "text": "Lipitor", "norm": "atorvastatin", "role": "other"}],
        },
    ]


def _corpus(tmp_path: Path) -> Path:
    docs = [{**d, "id": f"b001-{i + 1:04d}", "batch": "b001"} for i, d in enumerate(_documents())]
    return write_lay_corpus(docs, tmp_path / "lay")


def test_a_review_with_its_product_counts_as_found_with_its_event_and_suspect(tmp_path: Path):
    """GIVEN an AE review under Lipitor's page, a refill post and an indication WHEN evaluated THEN
    the review is found with its event and drug, and neither negative is flagged."""
    documents = load_lay(_corpus(tmp_path), strict=False).part("all")
    figures = evaluate(documents)["rules"].report()["overall"]
    assert (figures["recall"], figures["specificity"]) == (1.0, 1.0)
    assert (figures["event_recall"], figures["suspect_precision"], figures["indication_leak"]) == (
        1.0,
        1.0,
        0.0,
    )


def test_the_command_writes_its_figures_by_register_and_language(tmp_path: Path, capsys):
    out = tmp_path / "lay.json"
    assert (
        main(["evaluate-lay", "--lay-dir", str(_corpus(tmp_path)), "--part", "all", "--json", str(out)]) == 0
    )
    report = json.loads(out.read_text())["configurations"]["all sources"]
    assert report["by_register"]["social"]["documents"] == 4
    assert report["by_language"]["en"]["recall"] == 1.0
    assert "specificity by kind" in capsys.readouterr().out


def test_with_a_classifier_it_scores_the_classifier_and_the_pipeline_beside_the_rules(tmp_path: Path):
    """GIVEN the classifier endpoint double (it flags sentences with reaction words such as "ache")
    WHEN evaluate-lay screens with it THEN the classifier alone flags the review and the leaflet,
    the rules flag only the review (the judgement takes the leaflet for label text), and the
    pipeline, classifier OR rules, flags both: the judgement vetoes only the rules' own flag."""
    double = endpoint_double.EndpointDouble()
    server, url = endpoint_double.start(double)
    out = tmp_path / "lay.json"
    try:
        argv = ["evaluate-lay", "--lay-dir", str(_corpus(tmp_path)), "--part", "all", "--json", str(out)]
        assert main([*argv, "--endpoint-url", url, "--threshold", "0.5"]) == 0
    finally:
        server.shutdown()
    results = json.loads(out.read_text())
    figures = {name: report["overall"] for name, report in results["configurations"].items()}
    assert results["threshold"] == 0.5
    assert [(f["recall"], f["specificity"]) for f in figures.values()] == [
        (1.0, 1.0),  # all sources [rules]
        (1.0, 0.667),  # all sources [classifier]
        (1.0, 0.667),  # all sources [classifier or rules]
    ]
    assert list(figures) == [
        "all sources [rules]",
        "all sources [classifier]",
        "all sources [classifier or rules]",
    ]
    # one stream of sentences in the client's batches, as a ScreenFunction batch sends them
    assert double.calls == 1 and len(double.inputs[0]) == 4

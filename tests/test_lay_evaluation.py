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


def _ae_email(voice: str, text: str, drug: str, event: str, lang: str = "en") -> dict:
    """An AE email in `voice` naming `drug` (the suspect) and `event`."""
    return {
        "register": "email",
        "voice": voice,
        "lang": lang,
        "family": "b-voices",
        "label": "AE",
        "kind": "ae",
        "serious": False,
        "seriousness": [],
        "text": text,
        "spans": [
            {"type": "DRUG", "text": drug, "norm": drug.lower(), "role": "suspect"},
            {"type": "AE", "text": event, "norm": event},
        ],
    }


def _voices() -> list[dict]:
    """One AE email per voice and language whose reporter the text makes plain, and one whose
    patient it does not name ("She started ..." says nothing of who she is to the writer)."""
    return [
        _ae_email(
            "patient", "I started Lipitor two weeks ago and now my muscles ache.", "Lipitor", "muscles ache"
        ),
        _ae_email(
            "caregiver",
            "My mum was put on warfarin last month and now she bruises all over.",
            "warfarin",
            "bruises",
        ),
        _ae_email(
            "caregiver", "She started amoxicillin on Monday and came out in a rash.", "amoxicillin", "rash"
        ),
        _ae_email(
            "hcp",
            "I am a pharmacist. A 70-year-old patient on simvastatin developed muscle pain.",
            "simvastatin",
            "muscle pain",
        ),
        _ae_email(
            "patient",
            "Yo tomo ibuprofeno desde el lunes y tengo dolor de estómago.",
            "ibuprofeno",
            "dolor de estómago",
            lang="es",
        ),
        _ae_email(
            "hcp",
            "Soy farmacéutica. Una paciente mía tomaba simvastatina y tuvo dolor muscular.",
            "simvastatina",
            "dolor muscular",
            lang="es",
        ),
    ]


def _corpus(tmp_path: Path, documents: list[dict] | None = None) -> Path:
    docs = [
        {**d, "id": f"b001-{i + 1:04d}", "batch": "b001"} for i, d in enumerate(documents or _documents())
    ]
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


def test_who_reports_is_scored_against_the_voice_of_each_flagged_ae_document(tmp_path: Path):
    """GIVEN AE emails from a patient and a pharmacist in English and Spanish, a daughter about her
    mum, and a caregiver whose "she" the text leaves unnamed WHEN evaluated THEN the reporter kind
    read from each case (the E2B qualification, then who the patient is) matches its voice but for
    the unnamed one, read as unknown; whether the patient is the reporter is scored on the patient
    and caregiver voices only; and the reads are counted by voice and language."""
    documents = load_lay(_corpus(tmp_path, _voices()), strict=False).part("all")
    report = evaluate(documents)["rules"].report()
    overall = report["overall"]
    assert (overall["recall"], overall["reporter_documents"]) == (1.0, 6)
    assert (overall["reporter_kind"], overall["patient_is_reporter"]) == (0.833, 0.75)  # 5 of 6, 3 of 4
    assert report["reporter_confusion"] == {
        "patient": {"patient": 2, "caregiver": 0, "hcp": 0, "unknown": 0},
        "caregiver": {"patient": 0, "caregiver": 1, "hcp": 0, "unknown": 1},
        "hcp": {"patient": 0, "caregiver": 0, "hcp": 2, "unknown": 0},
    }
    caregiver, hcp = report["by_voice"]["caregiver"], report["by_voice"]["hcp"]
    assert (caregiver["reporter_kind"], caregiver["patient_is_reporter"]) == (0.5, 0.5)
    assert (hcp["reporter_kind"], hcp["patient_is_reporter"]) == (1.0, None)
    spanish = report["by_language"]["es"]
    assert (spanish["reporter_documents"], spanish["reporter_kind"]) == (2, 1.0)


def test_the_command_writes_its_figures_by_register_language_and_voice(tmp_path: Path, capsys):
    out = tmp_path / "lay.json"
    assert (
        main(["evaluate-lay", "--lay-dir", str(_corpus(tmp_path)), "--part", "all", "--json", str(out)]) == 0
    )
    report = json.loads(out.read_text())["configurations"]["all sources"]
    assert report["by_register"]["social"]["documents"] == 4
    assert report["by_language"]["en"]["recall"] == 1.0
    assert report["by_voice"]["patient"]["reporter_kind"] == 1.0  # the review: "my muscles ache"
    printed = capsys.readouterr().out
    assert "specificity by kind" in printed
    assert (
        "reporter read, by voice (flagged AE documents): patient: patient 1 caregiver 0 hcp 0 unknown 0"
        in printed
    )


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

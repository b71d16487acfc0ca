"""The project's sample documents through the channel parsers and assess_case: drugs found, nothing leaked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pv.channels.intake import parse_object
from pv.intelligence import assess_case
from pv.intelligence.lexicon import lexicon
from pv.intelligence.text import tokenize
from pv.models import SourceDocument

_DOCUMENTS = Path(__file__).resolve().parents[1] / "events" / "documents"


def _expected() -> dict[str, dict[str, Any]]:
    manifest = json.loads((_DOCUMENTS / "MANIFEST.json").read_text())["documents"]
    expected: dict[str, dict[str, Any]] = {}
    for key, entry in manifest.items():
        expected.update(entry.get("posts", {key: entry}))
    return {key: entry for key, entry in expected.items() if "quarantine_reason" not in entry}


def _parsed(source_key: str) -> SourceDocument:
    path = source_key.split("#")[0]
    for parsed in parse_object(
        path, (_DOCUMENTS / path).read_bytes(), datetime(2025, 3, 20, tzinfo=UTC), 5_000_000
    ):
        if isinstance(parsed, SourceDocument) and parsed.source_key == source_key:
            return parsed
    raise AssertionError(f"{source_key} did not parse")


def _generic(name: str) -> str:
    term = lexicon().lookup(tuple(t.text for t in tokenize(name)))
    return term.normalized if term is not None else name


@pytest.mark.parametrize("source_key", sorted(_expected()))
def test_sample_document_names_its_drugs_and_leaks_no_personal_data(source_key: str):
    expected = _expected()[source_key]
    facts = assess_case(_parsed(source_key), [])
    assert {_generic(d) for d in expected["drugs"]} <= set(facts.suspect_drugs)
    leaked = [p for p in expected["personal_data"] if p.lower() in facts.summary.lower()]
    assert leaked == []
    assert all(
        p.lower() not in c.evidence.lower()
        for c in facts.seriousness_criteria
        for p in expected["personal_data"]
    )


@pytest.mark.parametrize("source_key", sorted(_expected()))
def test_sample_document_seriousness_matches_the_manifest_with_clean_evidence(source_key: str):
    """GIVEN a sample document WHEN assessed THEN it is serious exactly when the manifest says so,
    and a serious one shows a criterion whose evidence sentence holds none of its personal data."""
    expected = _expected()[source_key]
    facts = assess_case(_parsed(source_key), [])
    assert facts.serious is expected["serious"]
    assert facts.serious is bool(facts.seriousness_criteria)
    if expected["serious"]:
        clean = [
            c
            for c in facts.seriousness_criteria
            if c.evidence.strip()
            and not any(p.lower() in c.evidence.lower() for p in expected["personal_data"])
        ]
        assert clean, facts.seriousness_criteria


def test_pharmacists_customer_is_the_patient_of_the_multipart_email():
    """GIVEN a pharmacist writing about "one of our customers" WHEN assessed THEN the customer is
    the patient, and the summary says so (a healthcare professional reports, in a patient)."""
    facts = assess_case(_parsed("email/multipart_attachment.eml"), [])
    assert facts.patient == "patient"
    assert facts.summary.startswith("Email sender (a healthcare professional) reports fever")
    assert "in a patient with adalimumab" in facts.summary


def test_surname_after_the_authors_first_name_leaves_no_trace_in_the_evidence():
    """GIVEN a post whose author handle names "jean" and whose text says "(Jean Pike, 79)" WHEN
    assessed THEN the evidence has neither name."""
    facts = assess_case(_parsed("social/feed_2025-03-09.jsonl#771204"), [])
    [criterion] = facts.seriousness_criteria
    assert criterion.evidence.startswith("My mum ([NAME], 79) was hospitalised")
    assert "pike" not in criterion.evidence.lower()


def test_vitamin_k_given_in_a_and_e_is_a_treatment_of_the_call_not_a_suspect():
    """GIVEN a caller given vitamin K in A&E for warfarin bleeding WHEN assessed THEN vitamin K is a
    treatment mention and the suspects are the warfarin and the antibiotic; still medically important."""
    facts = assess_case(_parsed("call/text_ae.txt"), [])
    assert facts.suspect_drugs == ["warfarin", "clarithromycin"]
    assert [m.role for m in facts.mentions if m.normalized == "phytonadione"] == ["treatment"]
    assert [c.criterion for c in facts.seriousness_criteria] == ["medically_important"]

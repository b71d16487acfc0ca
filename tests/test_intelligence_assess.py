"""assess_case end to end on small written documents: drugs, events, context, seriousness, validity."""

from __future__ import annotations

from datetime import UTC, datetime

from pv.intelligence import assess_case
from pv.models import CaseFacts, Channel, SentenceScore, SourceDocument, TextUnit


def _document(
    text: str,
    *,
    channel: Channel = Channel.EMAIL,
    metadata: dict[str, str] | None = None,
    units: list[TextUnit] | None = None,
    language: str | None = None,
) -> SourceDocument:
    return SourceDocument(
        document_id="d" * 64,
        channel=channel,
        source_key=f"{channel.value}/case.txt",
        received_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        units=units or [TextUnit(kind="body", text=text)],
        language=language,
        metadata={"from": "Jane Doe <jane.doe@example.com>"} if metadata is None else metadata,
    )


def _assess(text: str, **kwargs: object) -> CaseFacts:
    return assess_case(_document(text, **kwargs), [])  # type: ignore[arg-type]


def test_brand_name_is_normalized_to_its_generic():
    """GIVEN a brand name WHEN assessed THEN the suspect drug is the lowercase generic."""
    facts = _assess("I started Lipitor two weeks ago and now my muscles ache.")
    assert facts.suspect_drugs == ["atorvastatin"]
    assert facts.events == ["myalgia"]


def test_negated_events_are_not_reactions():
    facts = _assess("Since starting Zestril I feel dizzy. No rash, and I deny any nausea or vomiting.")
    assert facts.suspect_drugs == ["lisinopril"]
    assert facts.events == ["dizziness"]
    negated = sorted(m.normalized for m in facts.mentions if m.negated)
    assert negated == ["nausea", "rash", "vomiting"]


def test_indication_is_not_a_reaction():
    facts = _assess("I take metformin for my diabetes and since last week I have had terrible diarrhoea.")
    assert facts.suspect_drugs == ["metformin"]
    assert facts.events == ["diarrhoea"]
    assert [m.normalized for m in facts.mentions if m.role == "indication"] == ["diabetes"]


def test_death_of_the_patient_is_serious_with_evidence():
    facts = _assess(
        "My mum was put on warfarin last month. She had a nosebleed that would not stop. She died on Tuesday."
    )
    assert facts.patient == "mother"
    assert facts.suspect_drugs == ["warfarin"]
    assert facts.events == ["bleeding", "death"]
    assert facts.serious is True
    assert [(c.criterion, c.evidence) for c in facts.seriousness_criteria] == [
        ("death", "She died on Tuesday.")
    ]


def test_flagged_sentences_stand_in_when_the_document_has_no_screened_text():
    document = _document("", units=[TextUnit(kind="quoted", text="old text")])
    flagged = [SentenceScore(text="Advil gave me hives.", label="Adverse_Event", score=0.97)]
    facts = assess_case(document, flagged)
    assert facts.suspect_drugs == ["ibuprofen"]
    assert facts.events == ["urticaria"]

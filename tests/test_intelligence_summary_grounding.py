"""An abstractive summary is read by the rules its document was read with: it must not flip what the
reporter said (a denial, whose event it was, which drug is suspected)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from case_inputs import document
from pv.case_models import CaseFacts
from pv.intelligence import EndpointSummarizer, assess_case
from pv.intelligence.grounding import check_grounded
from pv.intelligence.summary import SummarizerError

_EXAMPLES = Path(__file__).resolve().parents[1] / "model" / "examples" / "summaries.csv"

_DENIES_RASH = "I started Zestril in May. Since then I feel dizzy. No rash."
_TREATED_RASH = "I got a rash after starting lisinopril. I took Piriton for the rash and it helped."
_MOTHERS_STROKE = "My mum had a stroke years ago. I started warfarin and now I have nosebleeds."
_CHILDHOOD_RASH = "I had a rash as a child. I started amoxicillin and now I feel sick."
_MOTHERS_VITAMIN_K = (
    "My mum went to A&E and they gave her vitamin K. I started lisinopril and now I have a rash."
)
_METFORMIN_FOR_DIABETES = "I take metformin for my diabetes. Since starting lisinopril I have a rash."


def _facts(text: str) -> CaseFacts:
    return assess_case(document(text), [])


def _examples() -> list[tuple[str, str]]:
    with _EXAMPLES.open(newline="", encoding="utf-8") as f:
        return [(row["text"], row["summary"]) for row in csv.DictReader(f)]


@pytest.mark.parametrize(
    "summary",
    [
        "User reports dizziness and rash after starting lisinopril.",
        "User reports rash after starting lisinopril.",
        "User developed a rash on lisinopril.",
    ],
)
def test_summary_asserting_an_event_the_reporter_denied_is_rejected(summary: str):
    """GIVEN a document that says "No rash" WHEN the summary reports a rash THEN it is rejected."""
    facts = _facts(_DENIES_RASH)
    with pytest.raises(SummarizerError, match="asserts an event the source denies"):
        check_grounded(summary, facts)


@pytest.mark.parametrize(
    "summary",
    [
        "User reports dizziness after starting lisinopril; denies rash.",
        "User reports dizziness after starting lisinopril, no rash.",
        "User reports dizziness after starting lisinopril without rash.",
        "User feels dizzy since starting lisinopril. No rash.",
    ],
)
def test_summary_keeping_the_reporters_denial_is_accepted(summary: str):
    """GIVEN a document that says "No rash" WHEN the summary denies the rash THEN it passes."""
    check_grounded(summary, _facts(_DENIES_RASH))


def test_summary_denying_an_event_that_occurred_is_rejected():
    """GIVEN a dizziness the reporter has WHEN the summary says there was none THEN it is rejected."""
    facts = _facts(_DENIES_RASH)
    with pytest.raises(SummarizerError, match="denies an event the source reports"):
        check_grounded("User started lisinopril with no dizziness and no rash.", facts)


def test_flipped_negation_falls_back_to_the_extractive_summary():
    """GIVEN a summarizer that turns "No rash" into a rash WHEN the case is assessed
    THEN the case keeps the extractive summary, which still says the rash is denied."""
    flipped = "Email sender reports rash after lisinopril."
    summarizer = EndpointSummarizer(lambda r: [{"summary_text": flipped}])
    facts = assess_case(document(_DENIES_RASH), [], summarizer=summarizer)
    assert facts.summary == (
        "Email sender reports dizziness after starting lisinopril. Not serious on the reported facts. "
        "Denies rash."
    )


@pytest.mark.parametrize(
    "summary",
    [
        "Patient reports rash after chlorphenamine.",
        "Patient reports rash after starting lisinopril and chlorphenamine.",
        "Chlorphenamine caused a rash.",
    ],
)
def test_summary_presenting_a_treatment_as_the_suspect_is_rejected(summary: str):
    """GIVEN Piriton taken for the rash WHEN the summary blames chlorphenamine THEN it is rejected."""
    facts = _facts(_TREATED_RASH)
    assert "chlorphenamine" not in facts.suspect_drugs
    with pytest.raises(SummarizerError, match="presents as suspect a drug the source does not"):
        check_grounded(summary, facts)


def test_summary_naming_the_treatment_as_a_treatment_is_accepted():
    """GIVEN Piriton taken for the rash WHEN the summary says so THEN it passes."""
    summary = "Patient reports a rash after lisinopril; took chlorphenamine for the rash, which helped."
    check_grounded(summary, _facts(_TREATED_RASH))


def test_summary_presenting_a_relatives_drug_as_the_suspect_is_rejected():
    """GIVEN vitamin K given to the reporter's mother WHEN the summary blames it for the
    reporter's rash THEN it is rejected."""
    facts = _facts(_MOTHERS_VITAMIN_K)
    assert facts.suspect_drugs == ["lisinopril"]
    with pytest.raises(SummarizerError, match="presents as suspect a drug the source does not"):
        check_grounded("Patient reports a rash after vitamin K.", facts)


def test_summary_presenting_the_indication_drug_as_the_suspect_is_rejected():
    """GIVEN metformin taken for diabetes and a rash since lisinopril WHEN the summary blames
    metformin THEN it is rejected."""
    facts = _facts(_METFORMIN_FOR_DIABETES)
    assert facts.suspect_drugs == ["lisinopril"]
    with pytest.raises(SummarizerError, match="presents as suspect a drug the source does not"):
        check_grounded("Patient reports a rash after metformin.", facts)


@pytest.mark.parametrize(
    "summary",
    [
        "Patient reports a stroke and bleeding after starting warfarin.",
        "Patient had a stroke after starting warfarin.",
    ],
)
def test_summary_giving_the_patient_a_relatives_event_is_rejected(summary: str):
    """GIVEN the reporter's mother's stroke WHEN the summary gives the stroke to the patient
    THEN it is rejected."""
    facts = _facts(_MOTHERS_STROKE)
    assert [m.role for m in facts.mentions if m.normalized == "stroke"] == ["family"]
    with pytest.raises(SummarizerError, match="an event the source gives a relative or the past"):
        check_grounded(summary, facts)


def test_summary_giving_the_patient_a_past_event_as_a_reaction_is_rejected():
    """GIVEN a rash the reporter had as a child WHEN the summary reports it as a reaction
    THEN it is rejected."""
    facts = _facts(_CHILDHOOD_RASH)
    with pytest.raises(SummarizerError, match="an event the source gives a relative or the past"):
        check_grounded("Patient reports rash and nausea after starting amoxicillin.", facts)


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        (_MOTHERS_STROKE, "Patient reports bleeding after starting warfarin; her mother had a stroke."),
        (_MOTHERS_STROKE, "Patient reports nosebleeds on warfarin. Mother had a stroke years ago."),
        (_CHILDHOOD_RASH, "Patient reports nausea after starting amoxicillin; had a rash as a child."),
        (_CHILDHOOD_RASH, "Patient with a history of rash reports nausea since starting amoxicillin."),
        (_METFORMIN_FOR_DIABETES, "Patient on metformin for diabetes reports a rash since lisinopril."),
        (_METFORMIN_FOR_DIABETES, "Patient reports a rash after lisinopril. Takes metformin for diabetes."),
        (_MOTHERS_VITAMIN_K, "Patient reports a rash after starting lisinopril."),
        (_TREATED_RASH, "Patient reports a rash after starting lisinopril."),
    ],
)
def test_faithful_summary_is_accepted(text: str, summary: str):
    """GIVEN a document WHEN a summary says what it says, in other words THEN it passes."""
    check_grounded(summary, _facts(text))


@pytest.mark.parametrize(("text", "summary"), _examples())
def test_example_summaries_of_the_summarizer_training_data_are_accepted(text: str, summary: str):
    """GIVEN a note of model/examples/summaries.csv WHEN its reference summary is checked
    THEN it passes, and the case keeps it."""
    facts = assess_case(document(text), [], summarizer=EndpointSummarizer(lambda r: [summary]))
    assert facts.summary == summary


def test_rejection_names_reasons_not_terms():
    """GIVEN a flipped summary WHEN rejected THEN the message holds no drug or event name."""
    facts = _facts(f"{_MOTHERS_STROKE} {_TREATED_RASH}")
    with pytest.raises(SummarizerError) as raised:
        check_grounded("Patient reports a stroke after chlorphenamine.", facts)
    assert str(raised.value) == (
        "summary asserts as the patient's an event the source gives a relative or the past (1); "
        "presents as suspect a drug the source does not (1)"
    )


def test_a_broader_term_is_grounded_in_a_specific_event_and_read_by_its_negation():
    """GIVEN a reporter who has nosebleeds on warfarin (epistaxis, a kind of bleeding) WHEN the
    summary says "bleeding" THEN it is grounded; GIVEN one who denies nosebleeds WHEN the summary
    reports bleeding THEN it asserts a denied event and is rejected."""
    check_grounded(
        "Patient reports bleeding on warfarin.", _facts("I started warfarin and now I get nosebleeds.")
    )
    denied = _facts("I started warfarin and now I feel dizzy. No nosebleeds.")
    with pytest.raises(SummarizerError, match="asserts an event the source denies"):
        check_grounded("Patient reports bleeding and dizziness on warfarin.", denied)

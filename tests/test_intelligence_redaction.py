"""Redaction: personal data never reaches the summary, by rules or by Comprehend Medical DetectPHI."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from case_inputs import document
from pv.intelligence import ComprehendMedicalRedactor, EndpointSummarizer, RuleRedactor, assess_case
from pv.intelligence.redaction import name_variants
from pv.models import SourceDocument

# Every kind of personal data the redactor handles, and the exact strings that must disappear.
_PERSONAL = {
    "sender": "Margaret Okafor",
    "email": "m.okafor@example.org",
    "phone_uk": "+44 7700 900123",
    "phone_us": "(555) 010-4477",
    "street": "14 Larkspur Road",
    "postcode": "LS6 2QT",
    "dob": "DOB: 03/11/1958",
    "mrn": "MRN 48213377",
    "nhs": "943 476 5919",
    "husband": "Desmond",
    "doctor": "Dr. Abernathy",
}
_EMAIL_BODY = f"""Dear Sir or Madam,

My name is {_PERSONAL["sender"]} and I am writing about my husband {_PERSONAL["husband"]} Okafor, \
{_PERSONAL["dob"]}, hospital {_PERSONAL["mrn"]}, NHS number {_PERSONAL["nhs"]}.
He is taking Eliquis and was admitted to hospital last week with a bad bleed from his gut.
{_PERSONAL["doctor"]} said to stop it. We live at {_PERSONAL["street"]}, Leeds {_PERSONAL["postcode"]}.
Please call me on {_PERSONAL["phone_uk"]} or {_PERSONAL["phone_us"]}, or email {_PERSONAL["email"]}.

Kind regards,
{_PERSONAL["sender"]}
"""


def _document() -> SourceDocument:
    return document(_EMAIL_BODY, metadata={"from": f"{_PERSONAL['sender']} <{_PERSONAL['email']}>"})


def _leaks(text: str) -> list[str]:
    """Personal strings (and their name parts) that survive in text."""
    pieces = set(_PERSONAL.values()) | {
        "Margaret",
        "Okafor",
        "Abernathy",
        "7700",
        "48213377",
        "5919",
        "Larkspur",
    }
    return sorted(p for p in pieces if p.lower() in text.lower())


def test_extractive_summary_and_evidence_carry_no_personal_data():
    facts = assess_case(_document(), [])
    assert facts.suspect_drugs == ["apixaban"]
    assert facts.patient == "husband"
    assert [c.criterion for c in facts.seriousness_criteria] == ["hospitalisation"]
    assert _leaks(facts.summary) == []
    assert all(_leaks(c.evidence) == [] for c in facts.seriousness_criteria)


def test_abstractive_summary_with_personal_data_is_redacted():
    """GIVEN a summarizer that repeats every personal detail WHEN assessed THEN none is left."""
    written = (
        f"{_PERSONAL['sender']} ({_PERSONAL['email']}, {_PERSONAL['phone_uk']}, "
        f"{_PERSONAL['phone_us']}) reports "
        f"that her husband {_PERSONAL['husband']} Okafor ({_PERSONAL['dob']}, {_PERSONAL['mrn']}, "
        f"NHS {_PERSONAL['nhs']}) of {_PERSONAL['street']}, Leeds {_PERSONAL['postcode']}, was admitted to "
        f"hospital with bleeding on apixaban; {_PERSONAL['doctor']} stopped it."
    )
    summarizer = EndpointSummarizer(lambda request: [{"summary_text": written}])
    facts = assess_case(_document(), [], summarizer=summarizer)
    assert _leaks(facts.summary) == []
    assert facts.summary.startswith("[NAME] ([EMAIL], [PHONE], [PHONE]) reports that her husband [NAME]")
    assert "apixaban" in facts.summary


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call me on 07700 900123.", "Call me on [PHONE]."),
        ("Ring +1 415-555-0132 today", "Ring [PHONE] today"),
        ("Write to sam.lee+pv@mail.example.com", "Write to [EMAIL]"),
        ("I live at 221B Baker Street, London NW1 6XE.", "I live at [ADDRESS], London [POSTCODE]."),
        (
            "Send it to 1600 Pennsylvania Avenue, Washington, DC 20500",
            "Send it to [ADDRESS], Washington, [POSTCODE]",
        ),
        ("Date of birth: 4 July 1961. I took 500 mg on 12/03/2024.", "[DOB]. I took 500 mg on 12/03/2024."),
        ("Patient ID: AB-772910, policy number 55-100-2233.", "[ID], [ID]."),
        ("Hi Priya,\nI had a rash.\nThanks,\nTom Hardcastle", "Hi [NAME],\nI had a rash.\nThanks,\n[NAME]"),
        (
            "Mrs. Evans said my daughter Lily reacted to Calpol.",
            "[NAME] said my daughter [NAME] reacted to Calpol.",
        ),
        ("Patient J.K. is 45; seen by @drkhan_gp", "Patient [NAME] is 45; seen by [NAME]"),
    ],
)
def test_rule_redactor_replaces_personal_data_with_typed_placeholders(text: str, expected: str):
    assert RuleRedactor().redact(text) == expected


def test_doses_dates_and_counts_are_not_phone_numbers():
    text = "I took 2 x 200 mg on 12.03.2024, about 1,000 units in 2023."
    assert RuleRedactor().redact(text) == text


def test_known_sender_names_from_metadata_are_redacted_anywhere():
    names = name_variants({"from": '"Okafor, Margaret" <m.okafor@example.org>'})
    assert RuleRedactor().redact("margaret here again; OKAFOR family", known_names=names) == (
        "[NAME] here again; [NAME] family"
    )


def test_drug_and_event_words_are_never_taken_for_names():
    assert (
        RuleRedactor().redact("Dear Lipitor team,\nThanks,\nNausea") == "Dear Lipitor team,\nThanks,\nNausea"
    )


def _comprehend_medical() -> Any:
    return boto3.client("comprehendmedical", region_name="eu-west-1")


def test_comprehend_medical_redactor_replaces_detected_phi_then_applies_the_rules():
    text = "Anna Berg called from Oslo about her rash; email anna@example.no"
    client = _comprehend_medical()
    stubber = Stubber(client)
    stubber.add_response(
        "detect_phi",
        {
            "Entities": [
                {
                    "Id": 0,
                    "BeginOffset": 0,
                    "EndOffset": 9,
                    "Score": 0.99,
                    "Text": "Anna Berg",
                    "Category": "PROTECTED_HEALTH_INFORMATION",
                    "Type": "NAME",
                },
                {
                    "Id": 1,
                    "BeginOffset": 22,
                    "EndOffset": 26,
                    "Score": 0.95,
                    "Text": "Oslo",
                    "Category": "PROTECTED_HEALTH_INFORMATION",
                    "Type": "ADDRESS",
                },
                {
                    "Id": 2,
                    "BeginOffset": 0,
                    "EndOffset": 4,
                    "Score": 0.2,
                    "Text": "Anna",
                    "Category": "PROTECTED_HEALTH_INFORMATION",
                    "Type": "NAME",
                },
            ],
            "ModelVersion": "2.0.0",
        },
        {"Text": text},
    )
    with stubber:
        redacted = ComprehendMedicalRedactor(client).redact(text)
    stubber.assert_no_pending_responses()
    # The email was not in DetectPHI's answer: the rule pass caught it.
    assert redacted == "[NAME] called from [ADDRESS] about her rash; email [EMAIL]"


def test_comprehend_medical_errors_are_raised_not_swallowed():
    client = _comprehend_medical()
    stubber = Stubber(client)
    stubber.add_client_error(
        "detect_phi", service_error_code="TooManyRequestsException", http_status_code=400
    )
    with stubber, pytest.raises(client.exceptions.TooManyRequestsException):
        ComprehendMedicalRedactor(client).redact("Anna Berg had a rash")


def test_comprehend_medical_redactor_splits_long_text_into_calls_under_the_limit():
    text = ("Rash again. " * 500).strip()  # about 6,000 characters: two calls
    client = _comprehend_medical()
    stubber = Stubber(client)
    for chunk in (text[:5000], text[5000:]):
        stubber.add_response("detect_phi", {"Entities": [], "ModelVersion": "2.0.0"}, {"Text": chunk})
    with stubber:
        assert ComprehendMedicalRedactor(client).redact(text) == text
    stubber.assert_no_pending_responses()


def test_placeholders_are_typed():
    redacted = RuleRedactor().redact("Dr. Ng, 020 7946 0958, ng@example.com, MRN 1234567")
    assert re.findall(r"\[[A-Z]+\]", redacted) == ["[NAME]", "[PHONE]", "[EMAIL]", "[ID]"]


@pytest.mark.parametrize(
    ("text", "known", "expected"),
    [
        ("My mum (Jean Pike, 79) was hospitalised.", ["jean"], "My mum ([NAME], 79) was hospitalised."),
        ("Kind regards,\nDenise Carver", ["Denise"], "Kind regards,\n[NAME]"),
        ("Spoke to Denise Van Houten today.", ["Denise"], "Spoke to [NAME] today."),
        ("Thanks Denise Carver-Smith, PharmD", ["Denise"], "Thanks [NAME], PharmD"),
    ],
)
def test_surname_after_a_known_first_name_is_redacted_with_it(text: str, known: list[str], expected: str):
    """GIVEN only a first name known from the metadata WHEN redacted THEN the capitalised surname
    (one or two words) right after it goes too, and a sign-off keeps no half of the name."""
    assert RuleRedactor().redact(text, known_names=known) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a drug or event word after a name is never a surname: the safety team needs it
        ("Thanks Denise Lipitor is giving me cramps", "Thanks [NAME] Lipitor is giving me cramps"),
        ("Denise Nausea again today", "[NAME] Nausea again today"),
        # a sentence that starts after a name keeps its first word; a new line is not the surname
        ("Thanks Denise Have a good day", "Thanks [NAME] Have a good day"),
        ("Hi Denise\nWarfarin made me bleed", "Hi [NAME]\nWarfarin made me bleed"),
    ],
)
def test_vocabulary_and_common_words_after_a_name_are_kept(text: str, expected: str):
    """GIVEN a drug, an event or a common word right after a known name WHEN redacted THEN it stays."""
    assert RuleRedactor().redact(text, known_names=["Denise"]) == expected


def test_surname_after_a_known_name_is_one_of_the_personal_spans():
    text = "My mum (Jean Pike, 79)"
    assert [text[a:b] for a, b in RuleRedactor().personal_spans(text, known_names=["jean"])] == ["Jean Pike"]

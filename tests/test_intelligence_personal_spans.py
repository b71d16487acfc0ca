"""The rule redactor's spans: which characters of a text are personal data, by the same passes
that redact it; and 7-digit local phone numbers, which are not doses or dates."""

from __future__ import annotations

import re

import pytest
from pv.intelligence import RuleRedactor

_TEXT = (
    "Dear Dr Watanabe,\n"
    "My MRN is 00482913 and my DOB is 30/11/1952. I started zorvastib 500-1000 mg in 2024 and "
    "came out in a rash. Denise said to write to you.\n"
    "Kind regards,\n"
    "Denise Carver\n"
    "Flat 2, 14 Cotham Road, Bristol BS7 8QT\n"
    "Tel: 555-0139, email denise.carver@example.com"
)
_NAMES = ["Denise Carver", "Denise", "Carver"]


def test_personal_spans_are_the_pieces_redact_replaces() -> None:
    """GIVEN an email with names, record numbers, an address and contact details WHEN its spans are
    taken THEN they are exactly the pieces that redact replaces, each with its placeholder."""
    redactor = RuleRedactor()

    spans = redactor.personal_spans(_TEXT, known_names=_NAMES)

    assert [_TEXT[a:b] for a, b in spans] == [
        "Dr Watanabe",
        "MRN is 00482913",
        "DOB is 30/11/1952",
        "Denise",
        "Denise Carver",
        "Flat 2",
        "14 Cotham Road",
        "BS7 8QT",
        "555-0139",
        "denise.carver@example.com",
    ]
    assert _marked(_TEXT, spans) == re.sub(r"\[[A-Z]+\]", "[X]", redactor.redact(_TEXT, known_names=_NAMES))


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with each span replaced by [X]."""
    pieces, at = [], 0
    for a, b in spans:
        pieces += [text[at:a], "[X]"]
        at = b
    pieces.append(text[at:])
    return "".join(pieces)


_FORWARDED = (
    "Please handle.\n\n"
    "Mark\n\n"
    "-----Original Message-----\n"
    "From: Rosa Delgado <rosa.delgado@example.com>\n"
    "Sent: Friday, March 7, 2025 4:02 PM\n\n"
    "Rosa's nosebleeds started on Xarelto. My date of birth? It's 2 June 1961.\n\n"
    "Rosa Delgado\n"
    "Hauptstraße 5, 10115 Berlin"
)


def test_personal_spans_of_a_forwarded_message_are_the_pieces_redact_replaces() -> None:
    """GIVEN a forwarded message with a bare signature, a header line, the sender's first name
    elsewhere and an answered date of birth WHEN its spans are taken THEN each is one of them, and
    replacing the spans gives the redacted text."""
    redactor = RuleRedactor()

    spans = redactor.personal_spans(_FORWARDED)

    assert [_FORWARDED[a:b] for a, b in spans] == [
        "Mark",
        "Rosa Delgado",
        "rosa.delgado@example.com",
        "Rosa",
        "2 June 1961",
        "Rosa Delgado",
        "Hauptstraße 5",
        "10115",
    ]
    assert _marked(_FORWARDED, spans) == re.sub(r"\[[A-Z]+\]", "[X]", redactor.redact(_FORWARDED))


def test_text_without_personal_data_has_no_spans() -> None:
    text = "I started zorvastib 500-1000 mg last week and came out in a rash."
    assert RuleRedactor().personal_spans(text) == []
    assert RuleRedactor().redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Please call me back on 555-0139.",
        "Tel: 555 0139",
        "My number is 555-0139, any time after six.",
        "call 555-0139 or 555 0188",
    ],
)
def test_seven_digit_local_phone_numbers_are_redacted(text: str) -> None:
    redacted = RuleRedactor().redact(text)
    assert "[PHONE]" in redacted
    assert not re.search(r"\d{4}", redacted)


@pytest.mark.parametrize(
    "text",
    [
        "I take 500-1000 mg a day.",  # a dose range
        "He was on 500 1000 mg of it.",
        "Between 250-1000 units, depending.",
        "the 500-1000mg tablets",
        "Case 2024-0139 was about the same rash.",  # four digits first: a year-style reference
        "Born in 1952, started 2024.",
        "Lot 12-3456 of the tablets.",
        "Took 100 tablets in 2019.",
        "Check-up on 12/03/2025 at 10:30.",
    ],
)
def test_doses_dates_and_counts_are_no_phone_numbers(text: str) -> None:
    assert RuleRedactor().redact(text) == text

"""Sentence splitting: abbreviations, decimals, lists, line breaks, ellipses, transcripts, long text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pv.models import Channel, SourceDocument, TextUnit
from pv.sentences import document_sentences, split_sentences


def test_abbreviations_do_not_end_sentences():
    text = (
        "Dr. Smith saw Mr. and Mrs. Jones vs. the usual GP. "
        "They took approx. 3 tabs, e.g. after meals, i.e. twice."
    )
    assert split_sentences(text) == [
        "Dr. Smith saw Mr. and Mrs. Jones vs. the usual GP.",
        "They took approx. 3 tabs, e.g. after meals, i.e. twice.",
    ]


def test_unit_abbreviation_ends_a_sentence_only_before_a_capital():
    assert split_sentences("I took 20 mg. daily for a week. It was 20 mg. Then I got a rash.") == [
        "I took 20 mg. daily for a week.",
        "It was 20 mg.",
        "Then I got a rash.",
    ]


def test_number_abbreviation_before_a_digit_and_decimals_stay_inside_the_sentence():
    assert split_sentences("Batch No. 5 was 2.5 mg per tablet. Dose was 0.75 ml.") == [
        "Batch No. 5 was 2.5 mg per tablet.",
        "Dose was 0.75 ml.",
    ]


def test_initials_and_times_do_not_split_names():
    assert split_sentences("J. R. Smith called at 9 a.m. She had hives.") == [
        "J. R. Smith called at 9 a.m.",
        "She had hives.",
    ]


def test_a_letter_that_names_a_vitamin_or_type_ends_a_sentence_unlike_an_initial():
    assert split_sentences(
        "I take vitamin D. Then I got a rash. Hepatitis B. Vaccine given by Dr. A. Khan."
    ) == [
        "I take vitamin D.",
        "Then I got a rash.",
        "Hepatitis B.",
        "Vaccine given by Dr. A. Khan.",
    ]


def test_question_and_exclamation_runs_end_sentences_even_before_lowercase():
    assert split_sentences("Was it the drug?! i felt awful!!! why me? no idea") == [
        "Was it the drug?!",
        "i felt awful!!!",
        "why me?",
        "no idea",
    ]


def test_ellipsis_ends_a_sentence_only_before_a_capital():
    assert split_sentences("I felt... weird after the pill... Then I fainted.") == [
        "I felt... weird after the pill...",
        "Then I fainted.",
    ]


def test_lowercase_social_text_splits_on_full_stops():
    assert split_sentences("my head hurts. cant sleep lol") == ["my head hurts.", "cant sleep lol"]


def test_closing_quotes_and_brackets_stay_with_their_sentence():
    assert split_sentences('He said "stop taking it." Then he left. (It hurt.) Really') == [
        'He said "stop taking it."',
        "Then he left.",
        "(It hurt.)",
        "Really",
    ]


def test_bullets_and_numbered_lines_are_separate_sentences_without_markers():
    text = "Symptoms since Monday\n- headache\n* nausea\n• dizziness\n1. rash on arms\n2) swollen lips\n"
    text += "a) itching"
    assert split_sentences(text) == [
        "Symptoms since Monday",
        "headache",
        "nausea",
        "dizziness",
        "rash on arms",
        "swollen lips",
        "itching",
    ]


def test_hard_wrapped_email_lines_join_into_one_sentence():
    text = (
        "I started taking Lipitor last month and now my muscles ache so bad I\n"
        "can't climb stairs, and my thighs are the worst.\n"
        "My GP said to stop."
    )
    assert split_sentences(text) == [
        "I started taking Lipitor last month and now my muscles ache so bad I can't climb stairs, "
        "and my thighs are the worst.",
        "My GP said to stop.",
    ]


def test_short_greeting_line_and_blank_lines_separate_text():
    assert split_sentences("Hi team\nI was hospitalised after warfarin\n\nthanks for your help") == [
        "Hi team",
        "I was hospitalised after warfarin",
        "thanks for your help",
    ]


def test_line_ending_with_colon_joins_the_wrapped_line_after_it():
    assert split_sentences("I have not had any side effects:\nno nausea, no headaches.") == [
        "I have not had any side effects: no nausea, no headaches."
    ]


def test_transcript_speaker_lines_are_separate_sentences():
    assert split_sentences("Agent: how can I help\nCaller: my legs ache since the statin\nAgent: ok") == [
        "Agent: how can I help",
        "Caller: my legs ache since the statin",
        "Agent: ok",
    ]


def test_control_characters_whitespace_and_empty_pieces_are_dropped():
    assert split_sentences("  \x07Dizzy\x1b[0m   after\tthe pill.  ---  \n\n ... \n") == [
        "Dizzy [0m after the pill."
    ]
    assert split_sentences("") == []


def test_an_over_long_sentence_is_cut_at_word_boundaries_and_nothing_is_lost():
    words = [f"w{i:04d}" for i in range(600)]  # 600 words of 5 characters: 3599 characters
    pieces = split_sentences(" ".join(words), max_chars=100)
    assert all(len(p) <= 100 for p in pieces)
    assert len(pieces) == 38  # 16 words (95 characters) per piece: 37 full pieces and 8 words left
    assert " ".join(pieces).split() == words


def test_a_single_word_longer_than_the_limit_is_cut_into_consecutive_pieces():
    assert split_sentences("a" * 2500, max_chars=1000) == ["a" * 1000, "a" * 1000, "a" * 500]


def test_max_chars_must_be_positive():
    with pytest.raises(ValueError):
        split_sentences("text", max_chars=0)


def test_document_sentences_cover_screened_units_only():
    doc = SourceDocument(
        document_id="d",
        channel=Channel.CALL,
        source_key="call/x.txt",
        received_at=datetime(2025, 3, 1, tzinfo=UTC),
        units=[
            TextUnit(kind="turn", speaker="agent", text="Do you have any side effects? Some get rashes."),
            TextUnit(kind="turn", speaker="caller", text="Yes. My skin itches since Lipitor."),
            TextUnit(kind="turn", speaker="unknown", text="Call ended."),
        ],
    )
    assert document_sentences(doc) == ["Yes.", "My skin itches since Lipitor.", "Call ended."]


def test_document_sentences_skip_quoted_replies_and_signatures():
    doc = SourceDocument(
        document_id="d",
        channel=Channel.EMAIL,
        source_key="email/x.eml",
        received_at=datetime(2025, 3, 1, tzinfo=UTC),
        units=[
            TextUnit(kind="subject", text="Rash"),
            TextUnit(kind="body", text="I got a rash. It itches."),
            TextUnit(kind="signature", text="Best regards,\nJane"),
            TextUnit(kind="quoted", text="> Did you have side effects?"),
        ],
    )
    assert document_sentences(doc) == ["Rash", "I got a rash.", "It itches."]

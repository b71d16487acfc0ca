"""The lexicon plus the extraction model: what each finds alone, who wins where both find a span,
and the guard that keeps what a model adds to drugs and events, never personal data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from case_inputs import ExtractorDouble, document
from pv.intelligence import (
    CombinedExtractor,
    EndpointExtractor,
    ExtractorError,
    LexiconExtractor,
    RuleRedactor,
    assess_case,
)
from pv.models import Channel, SourceDocument


def _document(text: str) -> SourceDocument:
    return document(text, Channel.SOCIAL)


def _combined(tags: list[tuple[str, str]], redactor: RuleRedactor | None = None) -> CombinedExtractor:
    """The lexicon beside a model that tags every occurrence of the `(type, text)` spans it is given."""
    return CombinedExtractor(EndpointExtractor(ExtractorDouble(tags)), redactor=redactor)


def _read(entities: list[Any]) -> list[tuple[str, str, str | None, float]]:
    return [(e.type, e.text, e.normalized, e.score) for e in entities]


def test_lay_wording_the_model_misses_is_found_by_the_lexicon() -> None:
    """GIVEN a model that finds nothing in patient wording WHEN combined THEN the lexicon's finds stand."""
    sentence = "I threw up twice after my first Ozempic shot."

    [entities] = _combined([]).extract([sentence])

    assert _read(entities) == [
        ("AE", "threw up", "vomiting", 1.0),
        ("DRUG", "Ozempic", "semaglutide", 1.0),
    ]
    facts = assess_case(_document(sentence), [], extractor=_combined([]))
    assert (facts.suspect_drugs, facts.events) == (["semaglutide"], ["vomiting"])


def test_a_drug_unknown_to_the_lexicon_is_found_by_the_model_alone() -> None:
    sentence = "Fooxaban gave me a severe rash."
    assert _read(LexiconExtractor().extract([sentence])[0]) == [("AE", "rash", "rash", 1.0)]

    [entities] = _combined([("DRUG", "Fooxaban")]).extract([sentence])

    assert _read(entities) == [("DRUG", "Fooxaban", "fooxaban", 0.9), ("AE", "rash", "rash", 1.0)]
    facts = assess_case(_document(sentence), [], extractor=_combined([("DRUG", "Fooxaban")]))
    assert (facts.suspect_drugs, facts.events) == (["fooxaban"], ["rash"])


def test_where_both_find_a_span_of_one_type_the_lexicon_reading_wins() -> None:
    """GIVEN the model's wider AE span and the same DRUG WHEN combined THEN one entity each, the lexicon's."""
    sentence = "Took Zestril, now dizzy and a severe rash."
    model = [("DRUG", "Zestril"), ("AE", "severe rash"), ("AE", "now dizzy")]

    [entities] = _combined(model).extract([sentence])

    assert _read(entities) == [
        ("DRUG", "Zestril", "lisinopril", 1.0),
        ("AE", "dizzy", "dizziness", 1.0),
        ("AE", "rash", "rash", 1.0),
    ]


def test_a_model_span_wider_than_a_lexicon_span_of_another_type_is_kept_in_order() -> None:
    """Only a lexicon entity of the same type hides an overlapping model entity ("<drug> toxicity")."""
    sentence = "Methotrexate toxicity recurred."
    model = [("AE", "Methotrexate toxicity")]

    [entities] = _combined(model).extract([sentence])

    assert [(e.type, e.text, e.normalized) for e in entities] == [
        ("DRUG", "Methotrexate", "methotrexate"),
        ("AE", "Methotrexate toxicity", "methotrexate toxicity"),
    ]


def test_a_model_span_within_a_lexicon_span_of_another_type_is_dropped() -> None:
    """GIVEN the model calls a brand the lexicon knows as a drug an AE WHEN combined THEN the drug stands."""
    sentence = "Is it safe to take Xarelto with ibuprofen?"
    model = [("AE", "Xarelto")]

    [entities] = _combined(model).extract([sentence])

    assert [(e.type, e.text, e.normalized) for e in entities] == [
        ("DRUG", "Xarelto", "rivaroxaban"),
        ("DRUG", "ibuprofen", "ibuprofen"),
    ]


def test_the_model_is_asked_once_per_batch_and_held_to_its_contract() -> None:
    model = ExtractorDouble([])
    sentences = ["one.", "two.", "three."]

    assert CombinedExtractor(EndpointExtractor(model, batch_size=2)).extract(sentences) == [[], [], []]
    assert [len(r["inputs"]) for r in model.requests] == [2, 1]

    class Short:
        def extract(self, sentences: Any) -> list[list[Any]]:
            return [[]]

    with pytest.raises(ExtractorError):
        CombinedExtractor(Short()).extract(sentences)


def test_the_runtime_combines_the_extractor_endpoint_with_the_lexicon() -> None:
    """GIVEN EXTRACTOR_ENDPOINT_NAME WHEN the case backends are built THEN the lexicon is kept beside it."""
    from pv import runtime
    from pv.config import Settings

    try:
        backends = runtime.intelligence_backends(Settings(extractor_endpoint_name="ae-extractor"))
        assert isinstance(backends["extractor"], CombinedExtractor)
        assert "extractor" not in runtime.intelligence_backends(Settings())
    finally:
        runtime.reset()


# --- The guard: what a model adds must be a drug or an event, never personal data --------------


class _NoPersonalData(RuleRedactor):
    """A redactor that finds no personal data: shows which rule of the guard dropped an entity."""

    def personal_spans(self, text: str, *, known_names: Iterable[str] = ()) -> list[tuple[int, int]]:
        return []


def _model_only(sentences: list[str], extracted: list[list[Any]]) -> list[list[tuple[str, str]]]:
    """Per sentence, the (type, text) of entities the lexicon did not find."""
    lexicon = LexiconExtractor().extract(sentences)
    return [
        [(e.type, e.text) for e in ents if e not in known]
        for ents, known in zip(extracted, lexicon, strict=True)
    ]


def test_model_entities_are_taken_only_from_sentences_where_the_lexicon_found_a_drug_or_event() -> None:
    """GIVEN a model that tags greetings, a signature and an unknown drug WHEN combined THEN only
    the drug is added: it is the one in a sentence where the lexicon found something (a rash)."""
    sentences = [
        "Dear Medical Information,",
        "Hi, I hope you can help.",
        "I started zorvastib last week and came out in a rash.",
        "Thank you, Denise Carver",
    ]
    tags = [("AE", "Dear"), ("AE", "Hi"), ("AE", "Thank"), ("DRUG", "Denise Carver"), ("DRUG", "zorvastib")]

    extracted = _combined(tags).extract(sentences)

    assert _model_only(sentences, extracted) == [[], [], [("DRUG", "zorvastib")], []]
    assert [(e.type, e.text, e.normalized) for e in extracted[2]] == [
        ("DRUG", "zorvastib", "zorvastib"),
        ("AE", "came out in a rash", "rash"),
    ]


def test_model_entities_that_are_personal_data_in_their_sentence_are_dropped() -> None:
    """GIVEN a model that tags a doctor's name, a postcode and the sender's first name in sentences
    that also name a drug or a reaction WHEN combined THEN the redactor's spans drop all three
    (the sender's name as a known name of the document), and only those."""
    sentences = [
        "Dr Watanabe prescribed lisinopril and now I have a dry cough.",
        "Since we moved to BS7 8QT the rash got worse.",
        "Denise has had a rash since Monday.",
    ]
    tags = [("DRUG", "Watanabe"), ("DRUG", "BS7 8QT"), ("DRUG", "Denise")]
    names = ["Denise Carver", "Denise", "Carver"]

    guarded = _combined(tags).extract(sentences, known_names=names)
    unguarded = _combined(tags, redactor=_NoPersonalData()).extract(sentences, known_names=names)

    assert _model_only(sentences, guarded) == [[], [], []]
    assert _model_only(sentences, unguarded) == [
        [("DRUG", "Watanabe")],
        [("DRUG", "BS7 8QT")],
        [("DRUG", "Denise")],
    ]


@pytest.mark.parametrize(
    ("sentence", "tagged", "kept"),
    [
        ("A rash since 00482913.", "00482913", False),  # no letter
        ("A rash since 555-0139 rang.", "555-0139", False),
        ("A rash since ab123456 started.", "ab123456", False),  # a run of five digits or more
        ("MRN 00482913 came in with a rash.", "MRN", False),  # a short label in front of a number
        ("DOB: 30/11/1952, rash since Monday.", "DOB", False),  # a short label before a colon
        ("Fwd: rash on my new tablets", "Fwd", False),
        ("mRNA-1273 gave me a rash.", "mRNA-1273", True),  # drug codes have at most four digits
        ("BNT162b2 gave me a rash.", "BNT162b2", True),
        ("ASA 81 mg gave me a rash.", "ASA", True),  # an abbreviation before a dose is no label
        ("Zorvastib: a rash after two days.", "Zorvastib", True),
    ],
)
def test_model_entities_that_look_like_identifiers_are_dropped(
    sentence: str, tagged: str, kept: bool
) -> None:
    """Checked without the redactor (it finds no personal data here), so the rule alone decides."""
    [entities] = _combined([("DRUG", tagged)], redactor=_NoPersonalData()).extract([sentence])

    assert (("DRUG", tagged) in [(e.type, e.text) for e in entities]) is kept


def test_assess_case_gives_the_extractor_the_documents_known_names() -> None:
    """GIVEN an email from Denise Carver and a model that tags "Denise" WHEN assessed THEN her name
    is no drug, and the unknown drug beside it is."""
    sentence = "Denise here: I started zorvastib last week and came out in a rash."
    email = document(sentence, metadata={"from": "Denise Carver <dc@example.com>"})

    facts = assess_case(email, [], extractor=_combined([("DRUG", "Denise"), ("DRUG", "zorvastib")]))

    assert (facts.suspect_drugs, facts.events) == (["zorvastib"], ["rash"])


@pytest.mark.parametrize(
    ("sentence", "tagged", "kept"),
    [
        ("Hi, I started lisinopril last week and now I have a rash.", "Hi", False),
        ("I went to A&E after lisinopril gave me a rash.", "A&E", False),  # read as "a e"
        ("Kind regards, and the rash from lisinopril is still there.", "Kind regards", False),
        ("The rash from lisinopril is on both of my arms.", "of my", False),
        ("Thanks, lisinopril gave me a rash.", "Thanks", False),
        ("Hi, lisinopril gave me a rash and hi-res photos show it.", "hi-res", True),
        ("Lisinopril gave me a rash and photosensitivity.", "photosensitivity", True),
    ],
)
def test_model_entities_that_are_greetings_function_words_or_single_letters_are_dropped(
    sentence: str, tagged: str, kept: bool
) -> None:
    """GIVEN a sentence that names a drug and a model that tags a greeting, a closing, function
    words or letters in it WHEN combined THEN the guard drops them; real words stay. Checked without
    the redactor, so this rule alone decides."""
    [entities] = _combined([("AE", tagged)], redactor=_NoPersonalData()).extract([sentence])

    assert (("AE", tagged) in [(e.type, e.text) for e in entities]) is kept


def test_a_greeting_tagged_by_the_model_is_no_event_of_the_case() -> None:
    """GIVEN "Hi, I started lisinopril ... rash" and a model that tags "Hi" and "A&E" as events
    WHEN assessed THEN the events are the rash alone."""
    text = "Hi, I started lisinopril last week and now I have a rash. I went to A&E with lisinopril."
    facts = assess_case(_document(text), [], extractor=_combined([("AE", "Hi"), ("AE", "A&E")]))

    assert (facts.suspect_drugs, facts.events) == (["lisinopril"], ["rash"])


def test_a_model_entity_spelt_like_an_abbreviation_is_normalized_only_when_written_in_capitals() -> None:
    """GIVEN a model that tags "Aki" (a name) and "AKI" as events WHEN normalized THEN only the
    capitals are renal failure (an important medical event); the name keeps its own text."""
    sentence = "Aki said the AKI was from the ibuprofen."

    [entities] = EndpointExtractor(ExtractorDouble([("AE", "Aki"), ("AE", "AKI")])).extract([sentence])

    assert [(e.text, e.normalized, "ime" in e.flags) for e in entities] == [
        ("Aki", "aki", False),
        ("AKI", "renal failure", True),
    ]

"""The lexicon plus the extraction model: what each finds alone, and who wins where both find a span."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pv.intelligence import (
    CombinedExtractor,
    EndpointExtractor,
    ExtractorError,
    LexiconExtractor,
    assess_case,
)
from pv.models import Channel, SourceDocument, TextUnit


def _document(text: str) -> SourceDocument:
    return SourceDocument(
        document_id="c" * 64,
        channel=Channel.SOCIAL,
        source_key="social/feed.jsonl#1",
        received_at=datetime(2025, 3, 1, tzinfo=UTC),
        units=[TextUnit(kind="post", text=text)],
        metadata={"author": "pat_k"},
    )


class _Model:
    """An extractor endpoint double that answers the spans it was told, like a case-report model."""

    def __init__(self, spans: dict[str, list[tuple[str, str]]]) -> None:
        self.spans = spans  # sentence -> [(type, text)]
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: dict[str, Any]) -> list[list[dict[str, Any]]]:
        self.requests.append(request)
        answer = []
        for sentence in request["inputs"]:
            entities = []
            for kind, text in self.spans.get(sentence, []):
                at = sentence.index(text)
                entities.append(
                    {"type": kind, "text": text, "start": at, "end": at + len(text), "score": 0.9}
                )
            answer.append(entities)
        return answer


def _combined(spans: dict[str, list[tuple[str, str]]]) -> CombinedExtractor:
    return CombinedExtractor(EndpointExtractor(_Model(spans)))


def _read(entities: list[Any]) -> list[tuple[str, str, str | None, float]]:
    return [(e.type, e.text, e.normalized, e.score) for e in entities]


def test_lay_wording_the_model_misses_is_found_by_the_lexicon() -> None:
    """GIVEN a model that finds nothing in patient wording WHEN combined THEN the lexicon's finds stand."""
    sentence = "I threw up twice after my first Ozempic shot."

    [entities] = _combined({}).extract([sentence])

    assert _read(entities) == [
        ("AE", "threw up", "vomiting", 1.0),
        ("DRUG", "Ozempic", "semaglutide", 1.0),
    ]
    facts = assess_case(_document(sentence), [], extractor=_combined({}))
    assert (facts.suspect_drugs, facts.events) == (["semaglutide"], ["vomiting"])


def test_a_drug_unknown_to_the_lexicon_is_found_by_the_model_alone() -> None:
    sentence = "Fooxaban gave me a severe rash."
    assert _read(LexiconExtractor().extract([sentence])[0]) == [("AE", "rash", "rash", 1.0)]

    [entities] = _combined({sentence: [("DRUG", "Fooxaban")]}).extract([sentence])

    assert _read(entities) == [("DRUG", "Fooxaban", "fooxaban", 0.9), ("AE", "rash", "rash", 1.0)]
    facts = assess_case(_document(sentence), [], extractor=_combined({sentence: [("DRUG", "Fooxaban")]}))
    assert (facts.suspect_drugs, facts.events) == (["fooxaban"], ["rash"])


def test_where_both_find_a_span_of_one_type_the_lexicon_reading_wins() -> None:
    """GIVEN the model's wider AE span and the same DRUG WHEN combined THEN one entity each, the lexicon's."""
    sentence = "Took Zestril, now dizzy and a severe rash."
    model = {sentence: [("DRUG", "Zestril"), ("AE", "severe rash"), ("AE", "now dizzy")]}

    [entities] = _combined(model).extract([sentence])

    assert _read(entities) == [
        ("DRUG", "Zestril", "lisinopril", 1.0),
        ("AE", "dizzy", "dizziness", 1.0),
        ("AE", "rash", "rash", 1.0),
    ]


def test_a_model_span_wider_than_a_lexicon_span_of_another_type_is_kept_in_order() -> None:
    """Only a lexicon entity of the same type hides an overlapping model entity ("<drug> toxicity")."""
    sentence = "Methotrexate toxicity recurred."
    model = {sentence: [("AE", "Methotrexate toxicity")]}

    [entities] = _combined(model).extract([sentence])

    assert [(e.type, e.text, e.normalized) for e in entities] == [
        ("DRUG", "Methotrexate", "methotrexate"),
        ("AE", "Methotrexate toxicity", "methotrexate toxicity"),
    ]


def test_a_model_span_within_a_lexicon_span_of_another_type_is_dropped() -> None:
    """GIVEN the model calls a brand the lexicon knows as a drug an AE WHEN combined THEN the drug stands."""
    sentence = "Is it safe to take Xarelto with ibuprofen?"
    model = {sentence: [("AE", "Xarelto")]}

    [entities] = _combined(model).extract([sentence])

    assert [(e.type, e.text, e.normalized) for e in entities] == [
        ("DRUG", "Xarelto", "rivaroxaban"),
        ("DRUG", "ibuprofen", "ibuprofen"),
    ]


def test_the_model_is_asked_once_per_batch_and_held_to_its_contract() -> None:
    model = _Model({})
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

"""Reaction phrases no vocabulary spells out, mapped to the nearest standard term (the PhraseMapper seam)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from pv.intelligence import ExtractorError
from pv.intelligence.phrases import EndpointPhraseMapper, PhraseMappingExtractor, candidate_phrases
from pv.intelligence.text import tokenize


class FakeMapper:
    """Answers fixed nearest terms and remembers what it was asked."""

    def __init__(self, answers: dict[str, list[tuple[str, float]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def nearest_terms(self, phrases: Sequence[str]) -> list[list[tuple[str, float]]]:
        self.asked.extend(phrases)
        return [self.answers.get(p, [("nausea", 0.1)]) for p in phrases]


def _events(extractor: PhraseMappingExtractor, sentence: str) -> list[tuple[str, str | None]]:
    [entities] = extractor.extract([sentence])
    return [(e.text, e.normalized) for e in entities if e.type == "AE"]


def test_a_phrase_the_vocabulary_lacks_becomes_its_nearest_term_above_the_floor():
    """GIVEN "my heart does somersaults" (no vocabulary phrase) WHEN the mapper scores palpitations
    above the floor THEN it is an event named palpitations; below it, nothing."""
    mapper = FakeMapper({"my heart does somersaults": [("palpitations", 0.86), ("arrhythmia", 0.6)]})
    sentence = "Since starting Lipitor, my heart does somersaults"
    assert _events(PhraseMappingExtractor(mapper, floor=0.6), sentence) == [
        ("my heart does somersaults", "palpitations")
    ]
    assert _events(PhraseMappingExtractor(mapper, floor=0.9), sentence) == []


def test_only_clauses_that_the_vocabulary_did_not_read_are_sent():
    """GIVEN a sentence whose reaction the vocabulary knows WHEN extracted THEN the mapper is not
    asked about that clause, nor about clauses without an experience word."""
    mapper = FakeMapper({})
    _events(PhraseMappingExtractor(mapper), "I threw up twice. The weather was lovely.")
    assert mapper.asked == []


def test_candidate_phrases_are_short_clauses_about_the_patient():
    sentence = "Two weeks on Zoloft, my hair comes out in clumps in my brush, and the shop was shut"
    spans = candidate_phrases(sentence, tokenize(sentence), taken=[])
    assert [sentence[a:b] for a, b in spans] == ["my hair comes out in clumps in my brush"]


def test_the_endpoint_answer_follows_the_contract():
    def invoke(payload: dict[str, Any]) -> Any:
        return [{"terms": [{"term": "alopecia", "score": 0.7}]} for _ in payload["inputs"]]

    assert EndpointPhraseMapper(invoke).nearest_terms(["clumps in my brush"]) == [[("alopecia", 0.7)]]
    with pytest.raises(ExtractorError):
        EndpointPhraseMapper(lambda payload: [{"terms": "alopecia"}]).nearest_terms(["x"])
    with pytest.raises(ExtractorError):
        EndpointPhraseMapper(lambda payload: []).nearest_terms(["x"])

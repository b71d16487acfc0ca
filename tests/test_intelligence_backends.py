"""Optional backends behind assess_case: the extractor and summarizer endpoints, held to their contracts."""

from __future__ import annotations

from typing import Any

import pytest
from case_inputs import ExtractorDouble, document
from pv.intelligence import EndpointExtractor, EndpointSummarizer, ExtractorError, assess_case
from pv.models import Channel, SourceDocument

_TEXT = "I started Zestril in May. Since then I feel dizzy. No rash."


def _document(text: str = _TEXT) -> SourceDocument:
    return document(text, Channel.SOCIAL)


def _ner() -> ExtractorDouble:
    return ExtractorDouble([("DRUG", "Zestril"), ("AE", "dizzy"), ("AE", "rash"), ("DRUG", "Fooxaban")])


def test_endpoint_entities_are_normalized_and_put_in_context():
    ner = _ner()
    facts = assess_case(_document(), [], extractor=EndpointExtractor(ner))
    assert ner.requests == [{"inputs": ["I started Zestril in May.", "Since then I feel dizzy.", "No rash."]}]
    assert facts.suspect_drugs == ["lisinopril"]
    assert facts.events == ["dizziness"]
    assert [(m.normalized, m.negated) for m in facts.mentions if m.normalized == "rash"] == [("rash", True)]


def test_endpoint_drug_unknown_to_the_vocabulary_keeps_its_own_name():
    facts = assess_case(_document("Fooxaban gave me a rash."), [], extractor=EndpointExtractor(_ner()))
    assert facts.suspect_drugs == ["fooxaban"]
    assert facts.events == ["rash"]


def test_endpoint_extractor_sends_sentences_in_batches():
    ner = _ner()
    result = EndpointExtractor(ner, batch_size=2).extract(["a", "b", "c"])
    assert [len(r["inputs"]) for r in ner.requests] == [2, 1]
    assert result == [[], [], []]


@pytest.mark.parametrize(
    "answer",
    [
        [[]],
        [{"type": "DRUG"}],
        [[{"type": "GENE", "text": "x", "start": 0, "end": 1, "score": 1}]],
        {"error": "x"},
    ],
)
def test_endpoint_extractor_rejects_answers_that_break_the_contract(answer: Any):
    extractor = EndpointExtractor(lambda request: answer)
    with pytest.raises(ExtractorError):
        extractor.extract(["one", "two"] if answer == [[]] else ["one"])


def test_grounded_abstractive_summary_is_used():
    written = "User reports dizziness after starting lisinopril; denies rash."
    facts = assess_case(_document(), [], summarizer=EndpointSummarizer(lambda r: [{"summary_text": written}]))
    assert facts.summary == written


@pytest.mark.parametrize(
    "written",
    [
        "User reports dizziness and vomiting after starting lisinopril.",  # invents an event
        "User reports dizziness after starting Lipitor.",  # invents a drug
        "",  # empty
    ],
)
def test_ungrounded_or_empty_abstractive_summary_falls_back_to_the_extractive_one(written: str):
    facts = assess_case(
        _document(), [], summarizer=EndpointSummarizer(lambda r: [{"generated_text": written}])
    )
    assert facts.summary == (
        "Social media user reports dizziness after starting lisinopril. "
        "Not serious on the reported facts. Denies rash."
    )


def test_summarizer_endpoint_failure_is_raised_not_hidden():
    def down(request: dict[str, Any]) -> Any:
        raise ConnectionError("endpoint down")

    with pytest.raises(ConnectionError):
        assess_case(_document(), [], summarizer=EndpointSummarizer(down))

"""The extractor handler (`serving/code/ner_inference.py`) on a tiny model in the trained-model layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pv_model.ner.tiny import build_tiny_extractor
from pv_model.serving.code import ner_inference
from pv_model.serving.tiny import build_tiny_classifier

SENTENCES = [
    "The patient developed a severe rash after starting amoxicillin.",
    "",
    "Hepatotoxicity was attributed to methotrexate given for rheumatoid arthritis over two years.",
    "Fever.",
    "Lithium toxicity recurred when lithium was restarted at 900 mg daily, with tremor and confusion.",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_extractor(tmp_path_factory.mktemp("tiny") / "ner-tiny", seed=5)


@pytest.fixture(scope="module")
def bundle(model_dir: Path) -> ner_inference.NerBundle:
    return ner_inference.model_fn(str(model_dir))


def test_predict_fn_answers_one_entity_list_per_input_in_input_order(bundle) -> None:
    """GIVEN 5 sentences WHEN tagged together THEN each list equals the one the sentence gets alone."""
    together = ner_inference.predict_fn(SENTENCES, bundle)

    alone = [ner_inference.predict_entities(bundle, [sentence])[0] for sentence in SENTENCES]
    rounded = [[{**e, "score": round(e["score"], 4)} for e in answer] for answer in together]
    assert rounded == [[{**e, "score": round(e["score"], 4)} for e in answer] for answer in alone]
    assert len(together) == 5
    assert together[1] == []


def test_entities_follow_the_contract(bundle) -> None:
    """Every entity has a known type, in-range offsets, text equal to the slice, a probability score."""
    answers = ner_inference.predict_fn(SENTENCES, bundle)

    entities = [(sentence, e) for sentence, answer in zip(SENTENCES, answers, strict=True) for e in answer]
    assert {e["type"] for _, e in entities} == {"DRUG", "AE"}  # the tiny model's random tags use both
    for sentence, entity in entities:
        assert set(entity) == {"type", "text", "start", "end", "score"}
        assert 0 <= entity["start"] < entity["end"] <= len(sentence)
        assert entity["text"] == sentence[entity["start"] : entity["end"]]
        assert 0.0 < entity["score"] <= 1.0


def test_entities_never_cut_a_word(bundle) -> None:
    answers = ner_inference.predict_fn(SENTENCES, bundle)

    for sentence, answer in zip(SENTENCES, answers, strict=True):
        for entity in answer:
            start, end = entity["start"], entity["end"]
            assert start == 0 or not (sentence[start - 1].isalnum() and sentence[start].isalnum())
            assert end == len(sentence) or not (sentence[end - 1].isalnum() and sentence[end].isalnum())


def test_json_request_round_trip_through_input_and_output_fn(bundle) -> None:
    body = json.dumps({"inputs": SENTENCES[:2]}).encode()

    response = ner_inference.output_fn(
        ner_inference.predict_fn(ner_inference.input_fn(body, "application/json"), bundle), "application/json"
    )

    assert json.loads(response) == json.loads(
        json.dumps(ner_inference.predict_entities(bundle, SENTENCES[:2]))
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"inputs": ["fine", 7]}', "application/json", 400),
        (b'{"text": "x"}', "application/json", 400),
        (b"not json", "application/json", 400),
        (b"a,b", "text/csv", 415),
    ],
)
def test_malformed_payload_is_a_4xx_error(body: bytes, content_type: str, status: int) -> None:
    with pytest.raises(ner_inference.PayloadError) as caught:
        ner_inference.input_fn(body, content_type)

    assert caught.value.status == status


def test_a_classifier_folder_is_not_an_extractor(tmp_path: Path, model_dir: Path) -> None:
    classifier = build_tiny_classifier(tmp_path / "clf")

    assert ner_inference.is_extractor(model_dir) is True
    assert ner_inference.is_extractor(classifier) is False
    with pytest.raises(ValueError, match="not a DRUG/AE extractor"):
        ner_inference.load_model(classifier)

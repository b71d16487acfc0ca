"""The summarizer handler and its endpoint: `[{"summary_text"}]` per input, bounded, routed by name."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from pv_model.serving.code import inference, ner_inference, summarizer_inference
from pv_model.serving.server import handler_for, start_server
from pv_model.serving.tiny import build_tiny_classifier
from pv_model.summarizer.tiny import build_tiny_summarizer

NOTES = [
    "I started amoxicillin on Monday and now I have a rash all over my arms.",
    "Blood pressure was normal at the clinic today.",
]
CLASSIFIER, SUMMARIZER = "ae-classifier-local", "case-summarizer-local"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {
        "random": build_tiny_summarizer(root / "sum-tiny"),
        "insulin": build_tiny_summarizer(root / "sum-insulin", says="insulin", max_new_tokens=3),
        "classifier": build_tiny_classifier(root / "clf-tiny"),
    }


def _answer(handler, model_dir: Path, texts: list[str]) -> list[dict]:
    """What the toolkit's entry points answer for `texts` (model_fn, input_fn, predict_fn, output_fn)."""
    model = handler.model_fn(str(model_dir))
    body = json.dumps({"inputs": texts}).encode()
    return json.loads(
        handler.output_fn(handler.predict_fn(handler.input_fn(body, "application/json"), model), None)
    )


def test_handler_answers_one_summary_text_per_input_in_order(folders: dict[str, Path]) -> None:
    """GIVEN a summarizer that always says "insulin" WHEN two notes are sent THEN two answers, in order,
    each as long as the folder's generation settings allow (3 new tokens)."""
    assert _answer(summarizer_inference, folders["insulin"], NOTES) == [
        {"summary_text": "insulin insulin insulin"},
        {"summary_text": "insulin insulin insulin"},
    ]


def test_random_summarizer_answers_the_contract_and_stays_within_its_token_budget(folders) -> None:
    bundle = summarizer_inference.load_model(folders["random"])

    answers = summarizer_inference.predict_fn(NOTES, bundle)

    assert [set(a) for a in answers] == [{"summary_text"}] * 2
    assert all(isinstance(a["summary_text"], str) for a in answers)
    for answer in answers:
        tokens = bundle.tokenizer(answer["summary_text"], add_special_tokens=False)["input_ids"]
        assert len(tokens) <= bundle.max_new_tokens == 6
    assert (bundle.num_beams, bundle.max_length, bundle.prefix) == (2, 128, "")
    # Each note is summarized on its own: the answers do not depend on what else is in the batch.
    assert summarizer_inference.predict_fn(NOTES[::-1], bundle) == answers[::-1]


def test_a_note_longer_than_the_model_takes_is_cut_not_refused(folders: dict[str, Path]) -> None:
    bundle = summarizer_inference.load_model(folders["insulin"])
    long_note = "The patient developed a rash after amoxicillin. " * 200  # far over 128 tokens

    assert summarizer_inference.summarize(bundle, [long_note, ""]) == ["insulin insulin insulin"] * 2


def test_the_summarizer_serves_with_torch_only(folders: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="torch backend only"):
        summarizer_inference.load_model(folders["random"], backend="onnx")
    with pytest.raises(ValueError, match="not a sequence-to-sequence summarizer"):
        summarizer_inference.load_model(folders["classifier"])


def test_the_handler_follows_the_folder_config(folders: dict[str, Path], tmp_path: Path) -> None:
    """GIVEN a summarizer, a classifier, an extractor WHEN a handler is chosen THEN each gets its own,
    and the toolkit's entry point (`inference`) hands the summarizer to its handler."""
    from pv_model.ner.tiny import build_tiny_extractor

    assert handler_for(folders["insulin"]) is summarizer_inference
    assert handler_for(folders["classifier"]) is inference
    assert handler_for(build_tiny_extractor(tmp_path / "ner")) is ner_inference
    config = json.loads((folders["insulin"] / "config.json").read_text())
    assert config["architectures"] == ["EncoderDecoderModel"]
    for architectures, expected in (
        (["T5ForConditionalGeneration"], True),
        (["BartForSequenceClassification"], False),
    ):
        (tmp_path / "config.json").write_text(json.dumps({"architectures": architectures}))
        assert summarizer_inference.is_summarizer(tmp_path) is expected

    assert _answer(inference, folders["insulin"], NOTES[:1]) == [{"summary_text": "insulin insulin insulin"}]


def test_the_server_routes_case_summarizer_local_beside_the_classifier(
    folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a classifier and a summarizer on one server WHEN boto3 calls case-summarizer-local THEN the
    summarizer answers, and the classifier keeps answering its own name."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server, url = start_server({CLASSIFIER: folders["classifier"], SUMMARIZER: folders["insulin"]}, port=0)
    try:
        runtime = boto3.client(
            "sagemaker-runtime", endpoint_url=url, config=Config(retries={"max_attempts": 1})
        )

        def invoke(name: str) -> dict:
            return runtime.invoke_endpoint(
                EndpointName=name, ContentType="application/json", Body=json.dumps({"inputs": NOTES})
            )

        summarized, classified = invoke(SUMMARIZER), invoke(CLASSIFIER)

        assert json.loads(summarized["Body"].read()) == [{"summary_text": "insulin insulin insulin"}] * 2
        assert summarized["InvokedProductionVariant"] == "sum-insulin-000000000000"
        assert [set(item) for item in json.loads(classified["Body"].read())] == [{"label", "score"}] * 2
        assert server.models[SUMMARIZER].handler is summarizer_inference
        assert {name: served.invocations for name, served in server.models.items()} == {
            CLASSIFIER: 1,
            SUMMARIZER: 1,
        }
    finally:
        server.stop()

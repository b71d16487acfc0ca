"""The SageMaker handler (`serving/code/inference.py`) on a tiny model in the trained-model layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pv_model.serving.code import inference
from pv_model.serving.tiny import build_tiny_classifier

SENTENCES = [
    "The patient developed a severe rash after starting amoxicillin.",
    "Blood pressure was normal.",
    "",
    "Fever.",
    "Hepatotoxicity was attributed to methotrexate given for rheumatoid arthritis over two years.",
    "No adverse events were reported.",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("tiny") / "ae-tiny", threshold=0.4, max_length=16)


@pytest.fixture(scope="module")
def bundle(model_dir: Path) -> inference.ModelBundle:
    return inference.load_model(model_dir)


def test_predict_fn_answers_every_input_in_input_order(bundle: inference.ModelBundle) -> None:
    """GIVEN sentences of different lengths WHEN scored in one request THEN each keeps its own score."""
    alone = [inference.predict_scores(bundle, [text])[0] for text in SENTENCES]

    predictions = inference.predict_fn(SENTENCES, bundle)

    assert len(predictions) == len(SENTENCES)
    assert [_p_ae(p) for p in predictions] == pytest.approx(alone, abs=1e-5)
    assert len({round(score, 4) for score in alone}) == len(SENTENCES)  # the check can tell them apart


def test_batches_smaller_than_the_request_give_the_same_scores(bundle: inference.ModelBundle) -> None:
    """Length-sorted batching is invisible to the caller."""
    batched = inference.predict_scores(bundle, SENTENCES * 5, batch_size=4)

    assert batched == pytest.approx(inference.predict_scores(bundle, SENTENCES) * 5, abs=1e-5)


def test_label_follows_the_threshold_saved_in_training_json(bundle: inference.ModelBundle) -> None:
    """label is Adverse_Event exactly when P(Adverse_Event) >= the saved threshold; score is the
    confidence of the label (HF convention, which the pipeline's endpoint client relies on)."""
    predictions = inference.predict(bundle, SENTENCES)
    scores = inference.predict_scores(bundle, SENTENCES)

    assert bundle.threshold == 0.4
    expected = ["Adverse_Event" if p >= 0.4 else "Not_AE" for p in scores]
    assert [p["score"] for p in predictions] == pytest.approx(
        [p if p >= 0.4 else 1 - p for p in scores], abs=1e-6
    )
    assert [p["label"] for p in predictions] == expected
    assert set(expected) == {"Adverse_Event", "Not_AE"}


def test_threshold_defaults_to_one_half_without_training_json(model_dir: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for path in model_dir.iterdir():
        if path.name != "training.json":
            (bare / path.name).write_bytes(path.read_bytes())

    loaded = inference.load_model(bare)

    assert loaded.threshold == 0.5
    assert loaded.max_length == 128  # the position embeddings of the tiny config


def test_over_long_sentences_are_truncated_at_max_length(bundle: inference.ModelBundle) -> None:
    """GIVEN sentences far beyond the position embeddings THEN they are scored on their first tokens."""
    head = "the patient developed hepatitis after taking isoniazid " * 40
    scores = inference.predict_scores(bundle, [head + "and recovered", head + "then died of liver failure"])

    assert bundle.max_length == 16
    assert scores[0] == pytest.approx(scores[1], abs=1e-6)


def test_empty_inputs_give_an_empty_response(bundle: inference.ModelBundle) -> None:
    assert (
        inference.output_fn(
            inference.predict_fn(inference.input_fn(b'{"inputs": []}', "application/json"), bundle),
            "application/json",
        )
        == "[]"
    )


def test_request_round_trip_through_the_toolkit_functions(model_dir: Path) -> None:
    """model_fn -> input_fn -> predict_fn -> output_fn, as the Hugging Face toolkit calls them."""
    model = inference.model_fn(str(model_dir))
    body = json.dumps({"inputs": SENTENCES[:3]}).encode()

    response = json.loads(
        inference.output_fn(
            inference.predict_fn(inference.input_fn(body, "application/json; charset=utf-8"), model), "*/*"
        )
    )

    assert [_p_ae(item) for item in response] == pytest.approx(inference.predict_scores(model, SENTENCES[:3]))
    assert [set(item) for item in response] == [{"label", "score"}] * 3


def test_a_lone_string_counts_as_one_input() -> None:
    assert inference.input_fn('{"inputs": "Fever."}', "application/json") == ["Fever."]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b'["a", "b"]', 'JSON object with an "inputs" list'),
        (b'{"text": ["a"]}', 'JSON object with an "inputs" list'),
        (b'{"inputs": 3}', '"inputs" must be a list of strings, got int'),
        (b'{"inputs": ["a", 2, null]}', "items [1, 2] are not strings"),
    ],
)
def test_malformed_payloads_are_rejected_with_status_400(body: bytes, message: str) -> None:
    with pytest.raises(inference.PayloadError) as caught:
        inference.input_fn(body, "application/json")

    assert caught.value.status == 400
    assert message in caught.value.message


def test_other_content_types_are_rejected_with_status_415() -> None:
    with pytest.raises(inference.PayloadError) as caught:
        inference.input_fn(b"a,b", "text/csv")

    assert caught.value.status == 415
    assert "text/csv" in caught.value.message


def test_other_accept_types_are_rejected_with_status_406() -> None:
    with pytest.raises(inference.PayloadError) as caught:
        inference.output_fn([], "text/csv")

    assert caught.value.status == 406


def test_model_version_is_folder_name_and_training_data_hash(bundle: inference.ModelBundle) -> None:
    assert bundle.version == "ae-tiny-000000000000"


def test_onnx_backend_without_an_export_says_how_to_make_one(model_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("PV_BACKEND", "onnx")

    with pytest.raises(FileNotFoundError, match="pv-model export-onnx"):
        inference.model_fn(str(model_dir))


def _p_ae(prediction: dict) -> float:
    """P(Adverse_Event) from a contract item, whose score is the confidence of its label."""
    return prediction["score"] if prediction["label"] == "Adverse_Event" else 1.0 - prediction["score"]

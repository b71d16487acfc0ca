"""One endpoint server holding several models, routed by endpoint name as SageMaker routes endpoints."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from pv_model.commands.serving import serve_models
from pv_model.ner.tiny import build_tiny_extractor
from pv_model.serving.code import inference, ner_inference
from pv_model.serving.server import ANY_NAME, start_server
from pv_model.serving.tiny import build_tiny_classifier

SENTENCES = ["Severe neutropenia developed after cisplatin.", "Blood pressure was normal."]
CLASSIFIER, EXTRACTOR = "ae-classifier-local", "ae-extractor-local"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {
        CLASSIFIER: build_tiny_classifier(root / "clf-tiny"),
        EXTRACTOR: build_tiny_extractor(root / "ner-tiny"),
    }


@pytest.fixture(scope="module")
def endpoint(folders: dict[str, Path]):
    server, url = start_server(folders, port=0)
    yield server, url
    server.stop()


@pytest.fixture
def runtime(endpoint, sagemaker_runtime):
    return sagemaker_runtime(endpoint[1])


def _invoke(runtime, name: str, texts: list[str]):
    return runtime.invoke_endpoint(
        EndpointName=name, ContentType="application/json", Body=json.dumps({"inputs": texts})
    )


def _request(url: str, path: str) -> urllib.request.Request:
    body = json.dumps({"inputs": SENTENCES}).encode()
    return urllib.request.Request(f"{url}{path}", data=body, headers={"Content-Type": "application/json"})


def _post(url: str, path: str) -> urllib.error.HTTPError:
    """The HTTP error a POST of SENTENCES to `path` answers."""
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(_request(url, path))
    return caught.value


def test_each_endpoint_name_reaches_its_own_model(endpoint, runtime) -> None:
    """GIVEN a classifier and an extractor on one server WHEN boto3 calls each name THEN each answers."""
    server, _ = endpoint
    before = {name: served.invocations for name, served in server.models.items()}

    classified = _invoke(runtime, CLASSIFIER, SENTENCES)
    extracted = _invoke(runtime, EXTRACTOR, SENTENCES)

    labels = json.loads(classified["Body"].read())
    assert [set(item) for item in labels] == [{"label", "score"}] * 2
    assert [item["label"] for item in labels] == [
        item["label"] for item in inference.predict(server.models[CLASSIFIER].bundle, SENTENCES)
    ]
    entities = json.loads(extracted["Body"].read())
    assert len(entities) == 2 and all(isinstance(answer, list) for answer in entities)
    assert [[(e["type"], e["start"], e["end"]) for e in answer] for answer in entities] == [
        [(e["type"], e["start"], e["end"]) for e in answer]
        for answer in ner_inference.predict_entities(server.models[EXTRACTOR].bundle, SENTENCES)
    ]
    assert classified["InvokedProductionVariant"] == "clf-tiny-000000000000"
    assert extracted["InvokedProductionVariant"] == "ner-tiny-000000000000"
    assert {name: served.invocations - before[name] for name, served in server.models.items()} == {
        CLASSIFIER: 1,
        EXTRACTOR: 1,
    }
    assert server.models[EXTRACTOR].handler is ner_inference


def test_unknown_endpoint_name_is_the_sagemaker_validation_error(endpoint, runtime) -> None:
    """GIVEN a server holding two models WHEN boto3 names a third THEN it raises ValidationError, 400."""
    server, _ = endpoint
    before = {name: served.invocations for name, served in server.models.items()}

    with pytest.raises(runtime.exceptions.ValidationError) as caught:
        _invoke(runtime, "ae-summarizer-local", SENTENCES)

    assert isinstance(caught.value, ClientError)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ValidationError"
    assert error["Error"]["Message"] == (
        "Endpoint ae-summarizer-local of account 123456789012 not found. "
        "This local server serves: ae-classifier-local, ae-extractor-local."
    )
    assert {name: served.invocations for name, served in server.models.items()} == before


def test_container_route_is_refused_when_the_server_holds_several_models(endpoint) -> None:
    _, url = endpoint

    refused = _post(url, "/invocations")

    assert refused.code == 400
    assert refused.headers["x-amzn-ErrorType"] == "ValidationError"
    assert json.loads(refused.read()) == {
        "message": "this server holds several models (ae-classifier-local, ae-extractor-local): "
        "call /endpoints/<name>/invocations"
    }


def test_ping_lists_every_model_with_its_version(endpoint) -> None:
    _, url = endpoint

    with urllib.request.urlopen(f"{url}/ping") as response:
        assert json.loads(response.read()) == {
            "status": "healthy",
            "models": {CLASSIFIER: "clf-tiny-000000000000", EXTRACTOR: "ner-tiny-000000000000"},
        }


def test_a_named_one_model_server_answers_its_name_and_the_container_route_only(folders) -> None:
    """GIVEN {name: folder} WHEN another name is called THEN 400; `/invocations` still reaches the model."""
    server, url = start_server({EXTRACTOR: folders[EXTRACTOR]}, port=0)
    try:
        assert _post(url, f"/endpoints/{CLASSIFIER}/invocations").code == 400
        with urllib.request.urlopen(_request(url, "/invocations")) as response:
            assert len(json.loads(response.read())) == 2
        assert server.bundle is server.models[EXTRACTOR].bundle
    finally:
        server.stop()


def test_one_folder_is_still_served_under_any_name(folders, sagemaker_runtime) -> None:
    server, url = start_server(folders[CLASSIFIER], port=0)
    try:
        runtime = sagemaker_runtime(url)
        for name in ("ae-classifier", "whatever-name"):
            assert len(json.loads(_invoke(runtime, name, SENTENCES)["Body"].read())) == 2
        assert list(server.models) == [ANY_NAME]
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("models", "backend", "message"),
    [
        ({"not_an_endpoint": "x"}, "torch", "not SageMaker endpoint names: ['not_an_endpoint']"),
        ({CLASSIFIER: "x"}, {EXTRACTOR: "onnx"}, "backends given for endpoints this server does not hold"),
    ],
)
def test_bad_names_are_refused_before_anything_loads(models, backend, message) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        start_server(models, backend=backend)


def test_extractor_beside_an_onnx_classifier_keeps_torch_when_the_backend_is_per_name(folders) -> None:
    """A backend mapping names the classifier's backend only; the extractor (torch only) loads anyway."""
    pytest.importorskip("onnxruntime")
    from pv_model.serving.onnx_export import export_onnx

    export_onnx(folders[CLASSIFIER])
    server, _ = start_server(folders, port=0, backend={CLASSIFIER: "onnx"})
    try:
        assert {name: served.backend for name, served in server.models.items()} == {
            CLASSIFIER: "onnx",
            EXTRACTOR: "torch",
        }
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (None, ".artifacts/models/ae-classifier"),
        (["models/x"], "models/x"),
        (["a=models/x", "b=models/y"], {"a": "models/x", "b": "models/y"}),
    ],
)
def test_serve_command_reads_one_folder_or_named_folders(values, expected) -> None:
    assert serve_models(values) == expected


@pytest.mark.parametrize("values", [["models/x", "b=models/y"], ["a=x", "a=y"], ["=x"]])
def test_serve_command_refuses_ambiguous_model_options(values) -> None:
    with pytest.raises(SystemExit):
        serve_models(values)

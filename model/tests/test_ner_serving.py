"""An extractor folder served by `pv-model serve`'s server, called with boto3 sagemaker-runtime."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pv_model.ner.tiny import build_tiny_extractor
from pv_model.serving.code import inference, ner_inference
from pv_model.serving.server import handler_for, start_server
from pv_model.serving.tiny import build_tiny_classifier

SENTENCES = [
    "Severe neutropenia developed after cisplatin.",
    "Blood pressure was normal.",
    "Lithium toxicity recurred when lithium was restarted.",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_extractor(tmp_path_factory.mktemp("tiny") / "ner-tiny")


@pytest.fixture(scope="module")
def endpoint(model_dir: Path):
    server, url = start_server(model_dir, port=0)
    yield server, url
    server.stop()


@pytest.fixture
def runtime(endpoint, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    no_retries = Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("sagemaker-runtime", endpoint_url=endpoint[1], config=no_retries)


def _rounded(answers: list[list[dict]]) -> list[list[dict]]:
    return [[{**e, "score": round(e["score"], 4)} for e in answer] for answer in answers]


def test_the_server_picks_the_handler_from_the_model_config(model_dir: Path, tmp_path: Path) -> None:
    assert handler_for(model_dir) is ner_inference
    assert handler_for(build_tiny_classifier(tmp_path / "clf")) is inference


def test_boto3_invoke_endpoint_gets_one_entity_list_per_input_in_order(endpoint, runtime) -> None:
    """GIVEN a served extractor WHEN boto3 sends 3 sentences THEN it gets the handler's 3 entity lists."""
    server, _ = endpoint

    response = runtime.invoke_endpoint(
        EndpointName="ae-extractor", ContentType="application/json", Body=json.dumps({"inputs": SENTENCES})
    )

    answers = json.loads(response["Body"].read())
    assert _rounded(answers) == _rounded(ner_inference.predict_entities(server.bundle, SENTENCES))
    assert len(answers) == 3
    assert response["InvokedProductionVariant"] == "ner-tiny-000000000000"


def test_malformed_payload_is_a_400_model_error(runtime) -> None:
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(
            EndpointName="ae-extractor", ContentType="application/json", Body=json.dumps({"inputs": [1]})
        )

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Code"] == "ModelError"
    assert (
        caught.value.response["Error"]["Message"]
        == '"inputs" must contain only strings; items [0] are not strings'
    )

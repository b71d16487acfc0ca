"""The local endpoint server, called the way the Lambdas call SageMaker: boto3 sagemaker-runtime."""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from pv_model.serving.code import inference
from pv_model.serving.server import MAX_BODY_BYTES, MicroBatcher, start_server
from pv_model.serving.tiny import build_tiny_classifier

SENTENCES = [
    "The patient developed a severe rash after starting amoxicillin.",
    "Blood pressure was normal.",
    "Fever.",
    "Hepatotoxicity was attributed to methotrexate given for rheumatoid arthritis.",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("tiny") / "ae-tiny", threshold=0.4)


@pytest.fixture(scope="module")
def endpoint(model_dir: Path):
    server, url = start_server(model_dir, port=0)
    yield server, url
    server.stop()


def _rounded(predictions: list[dict]) -> list[tuple[str, float]]:
    """Predictions comparable across batchings (padding changes the last float digits)."""
    return [(item["label"], round(item["score"], 4)) for item in predictions]


def _invoke(client, body: bytes | str, content_type: str = "application/json"):
    return client.invoke_endpoint(EndpointName="ae-classifier", ContentType=content_type, Body=body)


def test_boto3_invoke_endpoint_gets_one_prediction_per_input_in_order(
    endpoint, model_dir, sagemaker_runtime
) -> None:
    """GIVEN the server WHEN boto3 InvokeEndpoint sends 4 sentences THEN it gets the handler's 4 answers."""
    server, url = endpoint

    response = _invoke(sagemaker_runtime(url), json.dumps({"inputs": SENTENCES}))

    predictions = json.loads(response["Body"].read())
    assert _rounded(predictions) == _rounded(inference.predict(server.bundle, SENTENCES))
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "ae-tiny-000000000000"


def test_endpoint_url_from_the_environment_variable_works_unchanged(
    endpoint, sagemaker_runtime, monkeypatch
) -> None:
    _, url = endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)

    response = _invoke(sagemaker_runtime(), json.dumps({"inputs": SENTENCES[:2]}))

    assert [item["label"] for item in json.loads(response["Body"].read())] == [
        item["label"] for item in inference.predict(endpoint[0].bundle, SENTENCES[:2])
    ]


def test_ping_answers_healthy_with_the_model_version(endpoint) -> None:
    _, url = endpoint

    with urllib.request.urlopen(f"{url}/ping") as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"status": "healthy", "model_version": "ae-tiny-000000000000"}


def test_malformed_payload_is_a_400_model_error_with_a_message(endpoint, sagemaker_runtime) -> None:
    _, url = endpoint

    with pytest.raises(ClientError) as caught:
        _invoke(sagemaker_runtime(url), json.dumps({"inputs": ["fine", 7]}))

    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 400
    assert error["Error"]["Message"] == '"inputs" must contain only strings; items [1] are not strings'


def test_unsupported_content_type_is_a_415(endpoint, sagemaker_runtime) -> None:
    _, url = endpoint

    with pytest.raises(ClientError) as caught:
        _invoke(sagemaker_runtime(url), "a,b", content_type="text/csv")

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 415


def test_model_failure_is_a_500_and_the_server_keeps_serving(
    endpoint, sagemaker_runtime, monkeypatch
) -> None:
    server, url = endpoint

    def broken(**_: object) -> None:
        raise RuntimeError("out of memory")

    with monkeypatch.context() as patch:
        patch.setattr(server.bundle, "model", broken)
        with pytest.raises(ClientError) as caught:
            _invoke(sagemaker_runtime(url), json.dumps({"inputs": SENTENCES}))

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert caught.value.response["Error"]["Message"] == "model failed on a batch of 4: out of memory"
    answer = _invoke(sagemaker_runtime(url), json.dumps({"inputs": SENTENCES}))
    assert len(json.loads(answer["Body"].read())) == 4


def test_body_over_the_sagemaker_payload_limit_is_a_413(endpoint) -> None:
    _, url = endpoint
    request = urllib.request.Request(
        f"{url}/endpoints/ae-classifier/invocations",
        data=b" " * (MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)

    assert caught.value.code == 413


def test_unknown_route_is_a_404(endpoint) -> None:
    _, url = endpoint
    request = urllib.request.Request(
        f"{url}/models/x/invoke", data=b"{}", headers={"Content-Type": "application/json"}
    )

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)

    assert caught.value.code == 404


def test_concurrent_requests_all_get_their_own_answers(endpoint, sagemaker_runtime) -> None:
    """GIVEN 24 clients at once WHEN each sends a different request THEN each gets its own predictions."""
    server, url = endpoint
    requests = [SENTENCES[i % 4 :] + SENTENCES[: i % 4] for i in range(24)]
    client = sagemaker_runtime(url)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                lambda texts: json.loads(_invoke(client, json.dumps({"inputs": texts}))["Body"].read()),
                requests,
            )
        )

    for texts, answer in zip(requests, answers, strict=True):
        assert _rounded(answer) == _rounded(inference.predict(server.bundle, texts))


def test_requests_queued_while_the_model_is_busy_are_scored_in_one_batch(model_dir) -> None:
    """GIVEN the worker busy on one request WHEN 5 more arrive THEN they share the next model call."""
    bundle = inference.load_model(model_dir)
    release = threading.Event()
    entered = threading.Event()
    real_model = bundle.model

    def gated(**inputs):
        entered.set()
        release.wait(timeout=10)
        return real_model(**inputs)

    bundle.model = gated
    batcher = MicroBatcher(bundle)
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            first = pool.submit(batcher.submit, SENTENCES[:1])
            assert entered.wait(timeout=10)
            queued = [pool.submit(batcher.submit, SENTENCES[: i + 1]) for i in range(4)] + [
                pool.submit(batcher.submit, SENTENCES)
            ]
            while batcher._queue.qsize() < 5:
                threading.Event().wait(0.01)
            release.set()
            results = [future.result(timeout=10) for future in [first, *queued]]
    finally:
        batcher.close()

    assert batcher.batches == 2
    assert [len(result) for result in results] == [1, 1, 2, 3, 4, 4]
    assert _rounded(results[-1]) == _rounded(inference.predict(bundle, SENTENCES))


def test_latency_is_logged_without_the_text(endpoint, sagemaker_runtime, caplog) -> None:
    _, url = endpoint

    with caplog.at_level(logging.INFO, logger="pv_model.serving"):
        _invoke(sagemaker_runtime(url), json.dumps({"inputs": SENTENCES}))

    lines = [record.getMessage() for record in caplog.records if "latency_ms=" in record.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("invocation endpoint=ae-classifier status=200 inputs=4 latency_ms=")
    assert not any(word in lines[0] for word in ("amoxicillin", "Fever", "rash"))

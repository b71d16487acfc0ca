"""The classifier client: batching, the contract, retries with backoff, errors reported."""

from __future__ import annotations

import boto3
import endpoint_double
import pytest
from botocore.config import Config
from pv.adapters.endpoint import (
    ClassifierClient,
    EndpointContractError,
    EndpointError,
    EndpointInvoker,
    parse_predictions,
)


def _client(double_url: str, *, batch_size: int = 4, max_attempts: int = 3, timeout: float = 2.0):
    runtime = boto3.client(
        "sagemaker-runtime",
        endpoint_url=double_url,
        config=Config(read_timeout=timeout, connect_timeout=1, retries={"total_max_attempts": 1}),
    )
    sleeps: list[float] = []
    invoker = EndpointInvoker(
        runtime, "ae", max_attempts=max_attempts, sleep=sleeps.append, jitter=lambda: 1.0
    )
    return ClassifierClient(invoker, batch_size=batch_size), sleeps


@pytest.fixture
def served():
    double = endpoint_double.EndpointDouble()
    server, url = endpoint_double.start(double)
    yield double, url
    server.shutdown()


SENTENCES = [f"Sentence {i} is fine." for i in range(9)] + ["I got a rash after the first dose."]


def test_sentences_go_in_batches_of_the_configured_size_not_one_call_per_sentence(served):
    double, url = served
    client, _ = _client(url, batch_size=4)

    result = client.classify(SENTENCES)

    assert [len(batch) for batch in double.inputs] == [4, 4, 2]
    assert result.calls == 3
    assert result.probabilities[-1] == pytest.approx(0.96)
    assert result.probabilities[0] == pytest.approx(0.07)
    assert result.model == "ae/double-v1"


def test_throttling_is_retried_with_exponential_backoff_then_succeeds(served):
    double, url = served
    for _ in range(2):
        double.faults.append(endpoint_double.Fault(status=429, code="ThrottlingException"))
    client, sleeps = _client(url, batch_size=10)

    result = client.classify(SENTENCES)

    assert result.failed == []
    assert sleeps == [0.2, 0.4]
    assert result.calls == 3


def test_server_errors_are_retried_until_the_attempts_run_out_and_then_reported(served):
    double, url = served
    double.always = endpoint_double.Fault(status=503)
    client, sleeps = _client(url, batch_size=10, max_attempts=3)

    result = client.classify(SENTENCES)

    assert len(result.failed) == 1
    start, end, error = result.failed[0]
    assert (start, end, error.retryable) == (0, 10, True)
    assert len(sleeps) == 2
    assert double.calls == 3


def test_after_an_outage_the_remaining_batches_fail_without_waiting_out_their_own_retries(served):
    double, url = served
    double.always = endpoint_double.Fault(status=503)
    client, sleeps = _client(url, batch_size=4, max_attempts=3)

    result = client.classify(SENTENCES)

    assert [(s, e) for s, e, _ in result.failed] == [(0, 4), (4, 8), (8, 10)]
    assert double.calls == 3  # the first batch's attempts only
    assert len(sleeps) == 2


def test_a_client_error_from_the_model_is_reported_at_once_without_retries(served):
    double, url = served
    double.always = endpoint_double.Fault(status=400, body='{"message": "bad input"}')
    client, sleeps = _client(url)

    result = client.classify(SENTENCES[:2])

    assert double.calls == 1 and sleeps == []
    assert result.failed[0][2].retryable is False


def test_a_timeout_is_retried(served):
    double, url = served
    double.faults.append(endpoint_double.Fault(status=200, body="[]", delay_s=1.5))
    client, sleeps = _client(url, batch_size=10, timeout=0.5)

    result = client.classify(SENTENCES[:3])

    assert result.failed == [] and len(sleeps) == 1
    assert len(result.probabilities) == 3


def test_only_the_failing_batch_is_reported_the_others_are_scored(served):
    double, url = served
    client, _ = _client(url, batch_size=4, max_attempts=1)
    double.faults.extend([endpoint_double.Fault(status=200, body='{"not": "a list"}')])

    result = client.classify(SENTENCES)

    assert [(s, e) for s, e, _ in result.failed] == [(0, 4)]
    assert isinstance(result.failed[0][2], EndpointContractError)
    assert result.probabilities[-1] == pytest.approx(0.96)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([{"label": "Adverse_Event", "score": 0.9}], "1 predictions for 2 inputs"),
        ([{"label": "AE", "score": 0.9}] * 2, "known label"),
        ([{"label": "Not_AE", "score": 1.7}] * 2, r"score in \[0, 1\]"),
        ({"oops": True}, "not a list"),
    ],
)
def test_responses_that_break_the_contract_are_rejected(body, message):
    with pytest.raises(EndpointContractError, match=message):
        parse_predictions(body, expected=2)


def test_a_not_ae_label_turns_its_confidence_into_the_probability_of_an_adverse_event():
    probabilities = parse_predictions(
        [{"label": "Not_AE", "score": 0.8}, {"label": "Adverse_Event", "score": 0.7}], expected=2
    )

    assert probabilities == pytest.approx([0.2, 0.7])


def test_endpoint_error_keeps_the_reason_and_no_text():
    error = EndpointError("endpoint error 503: busy", retryable=True, status=503)

    assert str(error) == "endpoint error 503: busy"

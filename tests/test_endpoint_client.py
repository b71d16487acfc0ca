"""The classifier client: batching, the contract, retries with backoff, errors reported."""

from __future__ import annotations

import re

import boto3
import endpoint_double
import pytest
from botocore.config import Config
from pv.adapters.endpoint import (
    ClassifierClient,
    DeadlineReached,
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


def test_after_an_outage_the_other_documents_get_one_attempt_each_not_their_own_retries(served):
    double, url = served
    double.always = endpoint_double.Fault(status=503)
    client, sleeps = _client(url, batch_size=4, max_attempts=3)

    result = client.classify_documents([SENTENCES[:4], SENTENCES[4:8], SENTENCES[8:]])

    assert [d.error.retryable for d in result.documents] == [True, True, True]
    assert double.calls == 3 + 1 + 1  # the first request's attempts, then one each
    assert len(sleeps) == 2


def test_a_document_the_endpoint_fails_on_fails_alone_and_the_others_are_scored(served):
    """GIVEN three documents sharing one request, one of them holding text the endpoint answers
    500 to WHEN classified THEN the shared request is sent again per document: the poisoned one
    fails, the other two are scored, each with one more call."""
    double, url = served
    double.refuses = re.compile("POISON")
    client, _ = _client(url, batch_size=10, max_attempts=3)
    documents = [["I got a rash."], ["POISON in this text.", "And more."], ["All fine here."]]

    result = client.classify_documents(documents)

    good, poisoned, fine = result.documents
    assert poisoned.error is not None and poisoned.error.retryable
    assert (good.error, fine.error) == (None, None)
    assert good.probabilities == [pytest.approx(0.96)] and fine.probabilities == [pytest.approx(0.07)]
    assert double.calls == 3 + 3  # the shared request's attempts, then one per document
    assert [len(inputs) for inputs in double.inputs] == [1, 1]


def test_a_failed_document_sends_none_of_its_remaining_sentences(served):
    double, url = served
    double.refuses = re.compile("POISON")
    client, _ = _client(url, batch_size=2, max_attempts=1)

    result = client.classify_documents([["POISON.", "b", "c", "d", "e"], ["fine", "also fine"]])

    assert result.documents[0].error is not None and result.documents[1].complete
    assert double.calls == 2  # the poisoned document's first request, then the other document


def test_when_time_runs_out_the_unscored_documents_fail_for_a_retry_and_nothing_more_is_sent(served):
    double, url = served
    client, _ = _client(url, batch_size=2)
    allowed = iter([True, True, False])

    result = client.classify_documents(
        [["a", "b"], ["c", "d"], ["e", "f"], ["g"]], may_call=lambda: next(allowed)
    )

    assert [d.error is None for d in result.documents] == [True, True, False, False]
    assert all(isinstance(d.error, DeadlineReached) for d in result.documents[2:])
    assert double.calls == 2


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


def test_only_the_document_of_a_contract_breaking_answer_is_reported_the_others_are_scored(served):
    double, url = served
    client, _ = _client(url, batch_size=4, max_attempts=1)
    double.faults.extend([endpoint_double.Fault(status=200, body='{"not": "a list"}')])

    result = client.classify_documents([SENTENCES[:4], SENTENCES[4:8], SENTENCES[8:]])

    broken, *scored = result.documents
    assert isinstance(broken.error, EndpointContractError)
    assert [d.error for d in scored] == [None, None]
    assert scored[-1].probabilities[-1] == pytest.approx(0.96)


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

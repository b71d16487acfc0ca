"""The AE classifier endpoint, called through `sagemaker-runtime` InvokeEndpoint.

Contract (ARCHITECTURE.md): request `{"inputs": [...]}`, response one `{"label", "score"}` per
input, in order. As in the Hugging Face pipelines, `score` is the confidence of the returned label,
so the probability of an adverse event is `score` for `Adverse_Event` and `1 - score` for `Not_AE`.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

AE_LABEL = "Adverse_Event"
LABELS = frozenset({"Adverse_Event", "Not_AE"})
# Error codes worth another try: throttling, the endpoint scaling or restarting, 5xx.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "ModelNotReadyException",
    }
)


class EndpointError(Exception):
    """The endpoint failed after retries, or refused the request. Fails only the affected messages."""

    def __init__(self, reason: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status


class EndpointContractError(EndpointError):
    """The endpoint answered, but not with one `{"label", "score"}` per input."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retryable=False)


@dataclass
class Invocation:
    """One successful InvokeEndpoint call."""

    body: Any
    variant: str | None
    latency_ms: float
    attempts: int


@dataclass
class EndpointInvoker:
    """Calls one SageMaker endpoint with JSON, retrying throttling and 5xx with backoff and jitter."""

    runtime: Any  # boto3 sagemaker-runtime client (its timeout is set where it is made)
    endpoint_name: str
    max_attempts: int = 4
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def invoke(self, payload: dict[str, Any], max_attempts: int | None = None) -> Invocation:
        """One call, retried up to `max_attempts` (the invoker's own when None) on retryable errors."""
        body = json.dumps(payload)
        attempts = max_attempts or self.max_attempts
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                response = self.runtime.invoke_endpoint(
                    EndpointName=self.endpoint_name,
                    ContentType="application/json",
                    Accept="application/json",
                    Body=body,
                )
                raw = response["Body"].read()
                latency_ms = (time.perf_counter() - started) * 1000
            except ClientError as exc:
                error = _client_error(exc)
            except (HTTPClientError, ConnectionError) as exc:  # timeouts, resets, refused
                error = EndpointError(f"endpoint unreachable: {type(exc).__name__}", retryable=True)
            except BotoCoreError as exc:
                error = EndpointError(f"endpoint call failed: {type(exc).__name__}", retryable=False)
            else:
                try:
                    decoded = json.loads(raw)
                except ValueError as exc:
                    raise EndpointContractError("endpoint response is not JSON") from exc
                return Invocation(decoded, response.get("InvokedProductionVariant"), latency_ms, attempt)
            if not error.retryable or attempt == attempts:
                raise error
            # Full jitter: spread retries of concurrent functions over the whole backoff window.
            self.sleep(min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)) * self.jitter())
        raise AssertionError("unreachable")


def _client_error(exc: ClientError) -> EndpointError:
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "ModelError":
        # The container itself answered with an error; its own status tells whether to retry.
        status = exc.response.get("OriginalStatusCode", status)
    retryable = code in RETRYABLE_CODES or (status is not None and int(status) >= 500) or status == 429
    message = exc.response.get("Error", {}).get("Message", "")[:200]
    return EndpointError(f"endpoint error {code or status}: {message}", retryable=retryable, status=status)


class DeadlineReached(EndpointError):
    """The invocation's time ran out before this document's sentences were sent (retry later)."""

    def __init__(self) -> None:
        super().__init__("no time left in this invocation", retryable=True)


@dataclass
class DocumentScores:
    """P(adverse event) per sentence of one document, in order; `error` set: it must be retried."""

    probabilities: list[float]
    error: EndpointError | None = None
    calls: int = 0  # successful endpoint requests that carried some of its sentences

    @property
    def complete(self) -> bool:
        return not any(math.isnan(p) for p in self.probabilities)


@dataclass
class DocumentsClassification:
    """Each document's scores, and what the requests cost."""

    documents: list[DocumentScores]
    calls: int = 0  # attempts of the successful requests
    latency_ms: float = 0.0
    model: str | None = None


@dataclass
class Classification:
    """P(adverse event) per sentence, in input order, and what it cost."""

    probabilities: list[float]
    calls: int = 0
    latency_ms: float = 0.0
    model: str | None = None
    failed: list[tuple[int, int, EndpointError]] = field(
        default_factory=list
    )  # [start, end) per failed batch


def _always() -> bool:
    return True


Item = tuple[int, int]  # (document, sentence)


@dataclass
class ClassifierClient:
    """Sends sentences to the classifier in batches of `batch_size`, never one call per sentence."""

    invoker: EndpointInvoker
    batch_size: int = 32

    def classify_documents(
        self, documents: Sequence[Sequence[str]], *, may_call: Callable[[], bool] = _always
    ) -> DocumentsClassification:
        """Classify the sentences of several documents, each document failing on its own.

        Documents share requests (packed in order, `batch_size` sentences each). A shared request
        that fails after its retries is sent again one document at a time (one attempt each), so
        a document whose text the endpoint cannot take fails alone, and a failed document's other
        sentences are not sent. After a retryable failure the next requests get one attempt each until one
        succeeds: an outage does not wait out every document's retries, and a healthy endpoint
        still answers for the other documents. `may_call` is asked before every request; once it
        says no, the documents not yet scored fail with `DeadlineReached` (the invocation is
        about to run out of time) and nothing more is sent.
        """
        result = DocumentsClassification([DocumentScores([float("nan")] * len(d)) for d in documents])
        scores = result.documents
        pending: list[Item] = [(d, i) for d, sentences in enumerate(documents) for i in range(len(sentences))]
        degraded, at = False, 0
        while at < len(pending):
            batch: list[Item] = []
            while at < len(pending) and len(batch) < self.batch_size:
                if scores[pending[at][0]].error is None:
                    batch.append(pending[at])
                at += 1
            # (sentences, whether the request was retried already as part of a shared one)
            parts: list[tuple[list[Item], bool]] = [(batch, False)] if batch else []
            while parts:
                part, isolated = parts.pop(0)
                if not may_call():
                    for document in scores:
                        if document.error is None and not document.complete:
                            document.error = DeadlineReached()
                    return result
                error = self._send(part, documents, result, max_attempts=1 if degraded or isolated else None)
                if error is None:
                    degraded = False
                    continue
                degraded = degraded or error.retryable
                owners = list(dict.fromkeys(d for d, _ in part))
                if len(owners) == 1:
                    scores[owners[0]].error = error
                else:  # isolate: each document of the failed request on its own, one attempt each
                    parts = [([item for item in part if item[0] == d], True) for d in owners] + parts
        return result

    def _send(
        self,
        part: list[Item],
        documents: Sequence[Sequence[str]],
        result: DocumentsClassification,
        max_attempts: int | None,
    ) -> EndpointError | None:
        """Send one request; fill the scores of its sentences, or return why it failed."""
        inputs = [documents[d][i] for d, i in part]
        try:
            invocation = self.invoker.invoke({"inputs": inputs}, max_attempts=max_attempts)
            probabilities = parse_predictions(invocation.body, expected=len(inputs))
        except EndpointError as exc:
            return exc
        result.calls += invocation.attempts
        result.latency_ms += invocation.latency_ms
        result.model = f"{self.invoker.endpoint_name}/{invocation.variant or 'AllTraffic'}"
        for (d, i), probability in zip(part, probabilities, strict=True):
            result.documents[d].probabilities[i] = probability
        for d in dict.fromkeys(d for d, _ in part):
            result.documents[d].calls += 1
        return None

    def classify(self, sentences: Sequence[str]) -> Classification:
        """Classify the sentences of one document (`classify_documents` of that one)."""
        result = self.classify_documents([sentences])
        (scores,) = result.documents
        return Classification(
            probabilities=scores.probabilities,
            calls=result.calls,
            latency_ms=result.latency_ms,
            model=result.model,
            failed=[(0, len(sentences), scores.error)] if scores.error is not None else [],
        )


def parse_predictions(body: Any, *, expected: int) -> list[float]:
    """Check a response against the contract; return P(adverse event) per input."""
    if isinstance(body, dict) and "predictions" in body:  # some containers wrap the list
        body = body["predictions"]
    if not isinstance(body, list):
        raise EndpointContractError("endpoint response is not a list")
    if len(body) != expected:
        raise EndpointContractError(f"endpoint returned {len(body)} predictions for {expected} inputs")
    probabilities = []
    for item in body:
        if isinstance(item, list) and len(item) == 1:  # pipeline output for a single input
            item = item[0]
        if not isinstance(item, dict) or item.get("label") not in LABELS:
            raise EndpointContractError("endpoint prediction lacks a known label")
        score = item.get("score")
        if not isinstance(score, int | float) or not 0.0 <= float(score) <= 1.0:
            raise EndpointContractError("endpoint prediction has no score in [0, 1]")
        probabilities.append(float(score) if item["label"] == AE_LABEL else 1.0 - float(score))
    return probabilities

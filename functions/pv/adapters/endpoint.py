"""The AE classifier endpoint, called through `sagemaker-runtime` InvokeEndpoint.

Contract (ARCHITECTURE.md): request `{"inputs": [...]}`, response one `{"label", "score"}` per
input, in order. As in the Hugging Face pipelines, `score` is the confidence of the returned label,
so the probability of an adverse event is `score` for `Adverse_Event` and `1 - score` for `Not_AE`.
"""

from __future__ import annotations

import json
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

    def invoke(self, payload: dict[str, Any]) -> Invocation:
        body = json.dumps(payload)
        for attempt in range(1, self.max_attempts + 1):
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
            if not error.retryable or attempt == self.max_attempts:
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


@dataclass
class ClassifierClient:
    """Sends sentences to the classifier in batches of `batch_size`, never one call per sentence."""

    invoker: EndpointInvoker
    batch_size: int = 32

    def classify(self, sentences: Sequence[str]) -> Classification:
        """Classify every sentence; a batch that fails after retries is recorded, not raised.

        Once a batch has failed after all its retries on a retryable error (the endpoint is down
        or overloaded), the remaining batches fail at once instead of each waiting out its own
        retries: that keeps the invocation well inside the function's timeout.
        """
        result = Classification(probabilities=[float("nan")] * len(sentences))
        outage: EndpointError | None = None
        for start in range(0, len(sentences), self.batch_size):
            batch = list(sentences[start : start + self.batch_size])
            if outage is not None:
                result.failed.append((start, start + len(batch), outage))
                continue
            try:
                invocation = self.invoker.invoke({"inputs": batch})
                probabilities = parse_predictions(invocation.body, expected=len(batch))
            except EndpointError as exc:
                result.failed.append((start, start + len(batch), exc))
                outage = exc if exc.retryable else None
                continue
            result.calls += invocation.attempts
            result.latency_ms += invocation.latency_ms
            result.probabilities[start : start + len(batch)] = probabilities
            variant = invocation.variant or "AllTraffic"
            result.model = f"{self.invoker.endpoint_name}/{variant}"
        return result


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

"""The local stack answers its own AWS calls in process; its pump batches and runs functions side by side."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from pv_local.stack import LocalStack

REGION = "eu-west-1"


def _succeed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": []}


class CountingApp:
    """Counts the requests that reach the moto server over HTTP."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.requests += 1
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(
        handlers={"ScreenFunction": _succeed, "CaseFunction": _succeed}, retry_delay_s=0
    ) as local:
        yield local


def test_the_stacks_own_calls_never_reach_moto_over_http(stack: LocalStack) -> None:
    """GIVEN the moto server counting its HTTP requests WHEN this process puts and reads an object
    and sends a message THEN every call was answered in process, with moto's own state and URLs."""
    server = stack._moto._server
    counting = CountingApp(server.app)
    server.app = counting
    try:
        before = stack.transport.total_calls()
        stack.client("s3").put_object(Bucket=stack.bucket, Key="e2b/x.xml", Body=b"<x>caf\xc3\xa9</x>")
        body = stack.client("s3").get_object(Bucket=stack.bucket, Key="e2b/x.xml")["Body"].read()
        stack.send("SocialQueue", json.dumps({"post": 1}))
        stack.run_until_idle(timeout_s=30)
    finally:
        server.app = counting.app
    assert body == b"<x>caf\xc3\xa9</x>"
    assert counting.requests == 0
    assert stack.transport.total_calls() - before >= 4
    # Another process (stack.json's users) still reaches the same state over HTTP.
    http = boto3.client(
        "s3",
        endpoint_url=stack.moto_url,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    http.meta.events.unregister("before-send", stack.transport)
    assert http.get_object(Bucket=stack.bucket, Key="e2b/x.xml")["Body"].read() == body


def test_a_backlog_is_pumped_in_batches_without_per_message_round_trips(stack: LocalStack) -> None:
    """GIVEN 45 posts on SocialQueue WHEN the pump drains it THEN it received and deleted them ten at
    a time, as Lambda's pollers do: one receive per source and round (a batch, or an empty look at
    a queue with nothing waiting) until the empty round that ends it, one DeleteMessageBatch per
    batch, and no call made for a single message."""
    for n in range(45):
        stack.send("SocialQueue", json.dumps({"post": n}))
    before = dict(stack.transport.calls)
    stats = stack.run_until_idle(timeout_s=60)
    calls = {k: v - before.get(k, 0) for k, v in stack.transport.calls.items() if v != before.get(k, 0)}
    batches = 5  # 45 messages, BatchSize 10
    assert stats.delivered >= 45
    assert calls["sqs.DeleteMessageBatch"] == batches
    sources = len(stack.pump.sources)
    assert calls["sqs.ReceiveMessage"] <= (batches + 2) * sources
    assert calls.get("sqs.GetQueueAttributes", 0) <= 2 * sources  # the idle checks
    assert not {"sqs.DeleteMessage", "sqs.ChangeMessageVisibility"} & set(calls)


def test_function_cpu_excludes_the_time_spent_inside_moto(stack: LocalStack) -> None:
    """Moto answers on the function's own thread: that time is counted apart, not as the function's."""
    seen: dict[str, float] = {}

    def screen(event: dict[str, Any], context: Any) -> dict[str, Any]:
        s3 = stack.client("s3")
        for n in range(5):
            s3.put_object(Bucket=stack.bucket, Key=f"e2b/{n}.xml", Body=b"<x/>")
        seen["calls"] = 5
        return {"batchItemFailures": []}

    function = stack.functions["ScreenFunction"]
    original = function.handler
    function.handler = screen
    try:
        stack.send("SocialQueue", json.dumps({"post": "x"}))
        stack.run_until_idle(timeout_s=30)
    finally:
        function.handler = original
    assert seen["calls"] == 5
    assert stack.pump.stats.emulator_wall_s["ScreenFunction"] > 0
    assert stack.pump.stats.emulator_cpu_s["ScreenFunction"] > 0


class Overlap:
    """ScreenFunction waits for a CaseFunction invocation to start: it can only when the two run
    at once. Counts each function's invocations in flight."""

    def __init__(self) -> None:
        self.case_started = threading.Event()
        self.saw_case_while_screening = False
        self.in_flight = {"ScreenFunction": 0, "CaseFunction": 0}
        self.most_in_flight = {"ScreenFunction": 0, "CaseFunction": 0}
        self.bodies: list[str] = []
        self.lock = threading.Lock()

    def _enter(self, name: str, event: dict[str, Any]) -> None:
        with self.lock:
            self.in_flight[name] += 1
            self.most_in_flight[name] = max(self.most_in_flight[name], self.in_flight[name])
            self.bodies += [r["body"] for r in event["Records"]]

    def _leave(self, name: str) -> None:
        with self.lock:
            self.in_flight[name] -= 1

    def screen(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self._enter("ScreenFunction", event)
        try:
            if self.case_started.wait(timeout=20):
                self.saw_case_while_screening = True
            return {"batchItemFailures": []}
        finally:
            self._leave("ScreenFunction")

    def case(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self._enter("CaseFunction", event)
        try:
            self.case_started.set()
            return {"batchItemFailures": []}
        finally:
            self._leave("CaseFunction")


def test_with_concurrency_each_function_runs_beside_the_other_one_invocation_at_a_time(
    stack: LocalStack,
) -> None:
    """GIVEN posts on SocialQueue and requests on CaseQueue WHEN the pump runs concurrently THEN
    CaseFunction ran while ScreenFunction was in an invocation, neither function ever ran two
    invocations at once, and every message was delivered once."""
    overlap = Overlap()
    screen, case = stack.functions["ScreenFunction"], stack.functions["CaseFunction"]
    handlers = screen.handler, case.handler
    screen.handler, case.handler = overlap.screen, overlap.case
    try:
        for n in range(12):
            stack.send("SocialQueue", json.dumps({"post": n}))
        for n in range(12):
            stack.client("sqs").send_message(
                QueueUrl=stack.physical("CaseQueue"), MessageBody=json.dumps({"case": n})
            )
        stack.run_until_idle(timeout_s=120, concurrent=True)
    finally:
        screen.handler, case.handler = handlers
    assert overlap.saw_case_while_screening
    assert overlap.most_in_flight == {"ScreenFunction": 1, "CaseFunction": 1}
    delivered = sorted(b for b in overlap.bodies if "s3:TestEvent" not in b)  # the bucket's own
    assert delivered == sorted(
        [json.dumps({"post": n}) for n in range(12)] + [json.dumps({"case": n}) for n in range(12)]
    )

"""The local stack answers its own AWS calls in process; its pump batches and runs functions side by side."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import flask
import pytest
from botocore.exceptions import ClientError
from pv_local.stack import LocalStack

REGION = "eu-west-1"


class CountingApp:
    """Counts the requests that reach the moto server over HTTP."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.requests += 1
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def stack(idle_stack: LocalStack) -> LocalStack:
    return idle_stack


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


def _over_http(stack: LocalStack, service: str) -> Any:
    """A client of the same moto server that goes over HTTP, as another process's would."""
    client = boto3.client(
        service,
        endpoint_url=stack.moto_url,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    client.meta.events.unregister("before-send", stack.transport)
    return client


def _error(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


class CountingWsgiApp:
    """Counts the requests any of moto's Flask apps answers (a Flask request context each)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests = 0
        wsgi_app = flask.Flask.wsgi_app

        def counting(app: flask.Flask, environ: dict[str, Any], start_response: Any) -> Any:
            self.requests += 1
            return wsgi_app(app, environ, start_response)

        monkeypatch.setattr(flask.Flask, "wsgi_app", counting)


def test_in_process_calls_do_not_go_through_flask(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN moto's Flask apps counting the requests they answer WHEN this process makes the
    pipeline's usual calls THEN moto answered every one of them and no Flask app ran a request."""
    counting = CountingWsgiApp(monkeypatch)
    before = stack.transport.total_calls()
    s3, sqs = stack.client("s3"), stack.client("sqs")
    s3.put_object(Bucket=stack.bucket, Key="e2b/flask.xml", Body=b"<x/>")
    assert s3.get_object(Bucket=stack.bucket, Key="e2b/flask.xml")["Body"].read() == b"<x/>"
    queue = stack.physical("CaseQueue")
    sqs.send_message(QueueUrl=queue, MessageBody="{}")
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(received)]
    sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
    _error(stack.client("dynamodb").get_item, TableName="NoSuchTable", Key={"pk": {"S": "x"}})
    assert stack.transport.total_calls() - before == 6
    assert counting.requests == 0


def test_s3_metadata_keys_keep_their_underscores_in_process(stack: LocalStack) -> None:
    """GIVEN an object put in process with metadata keys spelled with an underscore and a dash
    THEN both come back as spelled, in process and over HTTP."""
    metadata = {"case_id": "c-1", "source-channel": "social"}
    stack.client("s3").put_object(Bucket=stack.bucket, Key="e2b/meta.xml", Body=b"<x/>", Metadata=metadata)
    assert stack.client("s3").head_object(Bucket=stack.bucket, Key="e2b/meta.xml")["Metadata"] == metadata
    assert stack.client("s3").get_object(Bucket=stack.bucket, Key="e2b/meta.xml")["Metadata"] == metadata
    http = _over_http(stack, "s3")
    assert http.head_object(Bucket=stack.bucket, Key="e2b/meta.xml")["Metadata"] == metadata


def test_a_head_request_reports_the_objects_length_without_a_body(stack: LocalStack) -> None:
    """GIVEN a 1000-byte object WHEN its head is read in process THEN it has the object's length, as
    over HTTP."""
    stack.client("s3").put_object(Bucket=stack.bucket, Key="e2b/long.xml", Body=b"x" * 1000)
    head = stack.client("s3").head_object(Bucket=stack.bucket, Key="e2b/long.xml")
    assert head["ContentLength"] == 1000
    assert head["ResponseMetadata"]["HTTPHeaders"]["content-length"] == "1000"
    http = _over_http(stack, "s3")
    assert http.head_object(Bucket=stack.bucket, Key="e2b/long.xml")["ContentLength"] == 1000


def test_errors_come_back_as_the_same_client_errors_as_over_http(stack: LocalStack) -> None:
    """GIVEN calls moto refuses (a missing table, key, queue or topic; a part of an object that has
    none) THEN botocore raises the same error code and HTTP status in process as over HTTP."""
    stack.client("s3").put_object(Bucket=stack.bucket, Key="e2b/one-part.xml", Body=b"<x/>")
    topic = f"arn:aws:sns:{REGION}:123456789012:NoSuchTopic"
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("dynamodb", "get_item", {"TableName": "NoSuchTable", "Key": {"pk": {"S": "x"}}}),
        ("s3", "get_object", {"Bucket": stack.bucket, "Key": "e2b/missing.xml"}),
        ("s3", "head_object", {"Bucket": stack.bucket, "Key": "e2b/missing.xml"}),
        ("s3", "get_object", {"Bucket": stack.bucket, "Key": "e2b/one-part.xml", "PartNumber": 2}),
        ("sqs", "get_queue_url", {"QueueName": "NoSuchQueue"}),
        ("sns", "publish", {"TopicArn": topic, "Message": "{}"}),
    ]
    in_process = [_error(getattr(stack.client(svc), name), **kwargs) for svc, name, kwargs in calls]
    over_http = [_error(getattr(_over_http(stack, svc), name), **kwargs) for svc, name, kwargs in calls]
    assert in_process == over_http
    assert in_process[:4] == [
        ("ResourceNotFoundException", 400),
        ("NoSuchKey", 404),
        ("404", 404),
        ("416", 416),
    ]


def test_an_s3_key_with_url_characters_round_trips_in_process(stack: LocalStack) -> None:
    """GIVEN a key with a question mark, a hash, a percent sign, a plus and an accent THEN it is
    stored under that name, read back in process, and listed the same over HTTP."""
    key = "e2b/odd?name#1 50%41+é.xml"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body="café".encode())
    assert stack.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read() == "café".encode()
    listed = _over_http(stack, "s3").list_objects_v2(Bucket=stack.bucket, Prefix="e2b/odd")["Contents"]
    assert [o["Key"] for o in listed] == [key]


def test_a_cors_request_gets_the_flask_apps_answer_in_process(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a call with an Origin header (boto3 sends none; a browser would) WHEN it is made in
    process THEN moto's Flask app answers it there, not the HTTP server, with the CORS headers
    Flask-CORS gives it over HTTP."""

    def add_origin(request: Any, **_: Any) -> None:
        request.headers["Origin"] = "http://localhost:3000"

    def allowed_origin(client: Any) -> str:
        client.meta.events.register("before-sign.sqs.ListQueues", add_origin)
        try:
            headers = client.list_queues()["ResponseMetadata"]["HTTPHeaders"]
        finally:
            client.meta.events.unregister("before-sign.sqs.ListQueues", add_origin)
        return str(headers["access-control-allow-origin"])

    server = stack._moto._server
    flask_apps, http = CountingWsgiApp(monkeypatch), CountingApp(server.app)
    server.app = http
    try:
        in_process = allowed_origin(stack.client("sqs"))
    finally:
        server.app = http.app
    assert (flask_apps.requests, http.requests) == (1, 0)
    assert in_process == allowed_origin(_over_http(stack, "sqs")) == "http://localhost:3000"


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

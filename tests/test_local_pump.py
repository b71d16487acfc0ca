"""The event pump delivers queue messages like Lambda's SQS event sources, retries and dead-letters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pv_local.load import Item, sending
from pv_local.pump import (
    IDLE_POLL_MAX_S,
    IDLE_POLL_S,
    IDLE_ROUNDS,
    EventPump,
    LocalFunction,
    QueueSource,
    idle_wait_s,
)
from pv_local.stack import LocalStack, s3_keys_in


class Recorder:
    """A stand-in ScreenFunction: records events and fails the messages whose body says so."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.raise_on: str | None = None

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        self.contexts.append(context)
        bodies = [r["body"] for r in event["Records"]]
        if self.raise_on is not None and any(self.raise_on in b for b in bodies):
            raise RuntimeError("handler crashed")
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if "poison" in r["body"]
            ]
        }

    def bodies(self) -> list[str]:
        return [r["body"] for e in self.events for r in e["Records"]]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def stack(recorder: Recorder) -> Iterator[LocalStack]:
    cases = Recorder()
    with LocalStack(handlers={"ScreenFunction": recorder, "CaseFunction": cases}, retry_delay_s=0) as local:
        yield local


def _queue_depth(stack: LocalStack, logical_id: str) -> int:
    attrs = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical(logical_id),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_uploaded_object_reaches_screen_function_as_a_lambda_sqs_event(
    stack: LocalStack, recorder: Recorder
) -> None:
    """GIVEN an object dropped under email/ WHEN pumped THEN ScreenFunction gets its notification."""
    stack.upload("email/a b.eml", b"From: x\n\nhello")
    stack.run_until_idle(timeout_s=300)

    records = [r for e in recorder.events for r in e["Records"]]
    keys = [k for r in records for k in s3_keys_in(r["body"])]
    assert keys == ["email/a b.eml"]
    record = next(r for r in records if s3_keys_in(r["body"]))
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == stack.resources["IntakeQueue"].attributes["Arn"]
    assert record["awsRegion"] == stack.region
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert set(record) >= {"messageId", "receiptHandle", "body", "md5OfBody", "messageAttributes"}
    context = recorder.contexts[0]
    assert context.function_name == stack.functions["ScreenFunction"].name
    assert context.memory_limit_in_mb == 512
    assert context.invoked_function_arn.endswith(f":function:{context.function_name}")
    assert 0 < context.get_remaining_time_in_millis() <= 120_000
    assert _queue_depth(stack, "IntakeQueue") == 0


def test_object_outside_channel_prefixes_is_not_notified(stack: LocalStack, recorder: Recorder) -> None:
    stack.upload("parsed/x.json", b"{}")
    stack.run_until_idle(timeout_s=300)
    assert [k for b in recorder.bodies() for k in s3_keys_in(b)] == []


def test_batches_follow_the_template_batch_size(stack: LocalStack, recorder: Recorder) -> None:
    for i in range(23):
        stack.send("SocialQueue", json.dumps({"n": i}))
    stats = stack.run_until_idle(timeout_s=300)
    social_arn = stack.resources["SocialQueue"].attributes["Arn"]
    social_batches = [e for e in recorder.events if e["Records"][0]["eventSourceARN"] == social_arn]
    assert [len(e["Records"]) for e in social_batches] == [10, 10, 3]
    assert sorted(json.loads(r["body"])["n"] for e in social_batches for r in e["Records"]) == list(range(23))
    # plus the s3:TestEvent that configuring the bucket notification put on IntakeQueue
    assert (stats.delivered, stats.succeeded, stats.failed) == (24, 24, 0)


def test_partial_batch_failure_retries_only_the_failed_message_until_its_dlq(
    stack: LocalStack, recorder: Recorder
) -> None:
    """A message reported failed returns to the queue; after maxReceiveCount (5) it is in the DLQ."""
    stack.send("SocialQueue", "good-1")
    stack.send("SocialQueue", "poison")
    stack.send("SocialQueue", "good-2")

    stack.run_until_idle(timeout_s=300)

    bodies = recorder.bodies()
    assert bodies.count("good-1") == 1
    assert bodies.count("good-2") == 1
    assert bodies.count("poison") == 5
    dead = stack.dead_letters()
    assert [(d.queue, d.source_queue, d.body) for d in dead] == [("SocialDLQ", "SocialQueue", "poison")]
    assert [d.body for d in stack.dead_letters()] == ["poison"]  # looking leaves it there
    assert _queue_depth(stack, "SocialQueue") == 0
    receive_counts = [
        int(r["attributes"]["ApproximateReceiveCount"])
        for e in recorder.events
        for r in e["Records"]
        if r["body"] == "poison"
    ]
    assert receive_counts == [1, 2, 3, 4, 5]


def test_a_raising_handler_fails_the_whole_batch(stack: LocalStack, recorder: Recorder) -> None:
    recorder.raise_on = "boom"
    stack.send("SocialQueue", "boom")
    stack.send("SocialQueue", "fine")
    stats = stack.run_until_idle(timeout_s=300)
    assert recorder.bodies().count("fine") == 5  # it shared every batch with the crashing message
    assert stats.handler_errors == 5
    assert sorted(d.body for d in stack.dead_letters()) == ["boom", "fine"]


def _source(report: bool = True) -> QueueSource:
    fn = LocalFunction("F", "f", lambda e, c: None, 3, 128, {})
    return QueueSource(fn, "url", "arn", 10, report)


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}),
        ({"batchItemFailures": [{}]}, {"a", "b"}),
        ("not a dict", {"a", "b"}),
    ],
)
def test_partial_batch_response_is_read_as_lambda_reads_it(response: Any, failed: set[str]) -> None:
    messages = [{"MessageId": "a"}, {"MessageId": "b"}]
    assert EventPump._failed_ids(_source(), response, messages) == failed


def test_without_report_batch_item_failures_a_returned_list_is_ignored() -> None:
    messages = [{"MessageId": "a"}]
    response = {"batchItemFailures": [{"itemIdentifier": "a"}]}
    assert EventPump._failed_ids(_source(report=False), response, messages) == set()


def test_a_handler_overrunning_its_timeout_fails_the_whole_batch(
    stack: LocalStack, recorder: Recorder
) -> None:
    """Lambda stops a function at its Timeout; the pump treats an overrun as a failed batch."""
    import time

    stack.functions["ScreenFunction"].timeout_s = 1
    slow = stack.functions["ScreenFunction"].handler

    def sleepy(event: dict[str, Any], context: Any) -> Any:
        if any(r["body"] == "slow" for r in event["Records"]):
            time.sleep(1.1)
        return slow(event, context)

    stack.functions["ScreenFunction"].handler = sleepy
    stack.send("SocialQueue", "slow")
    stats = stack.run_until_idle(timeout_s=300)
    assert stats.timeouts == 5
    assert [d.body for d in stack.dead_letters()] == ["slow"]


def test_an_idle_function_polls_its_queues_less_and_less_often() -> None:
    """GIVEN a pump worker whose queues keep coming back empty WHEN it waits between rounds THEN
    it waits IDLE_POLL_S while it has just caught up (the next messages go out at once), then the
    wait doubles up to IDLE_POLL_MAX_S and stays there, however long it idles."""
    caught_up = [idle_wait_s(n) for n in range(1, IDLE_ROUNDS + 1)]
    idle = [idle_wait_s(n) for n in range(IDLE_ROUNDS + 1, IDLE_ROUNDS + 8)]

    assert set(caught_up) == {IDLE_POLL_S}
    assert idle == sorted(idle)
    assert idle[0] == 2 * IDLE_POLL_S
    assert idle[-1] == IDLE_POLL_MAX_S
    assert idle_wait_s(10**6) == IDLE_POLL_MAX_S


@pytest.mark.parametrize("concurrent", [True, False], ids=["workers", "one-loop"])
def test_the_pump_is_not_idle_while_documents_are_still_arriving(
    stack: LocalStack, recorder: Recorder, concurrent: bool
) -> None:
    """GIVEN a pump told that documents are still arriving WHEN its queues have come back empty
    round after round THEN it keeps pumping; once the last document is sent and the arrivals are
    over it delivers it and only then stops."""
    arriving = threading.Event()
    rounds = threading.Semaphore(0)
    done: list[Any] = []

    def pump() -> None:
        done.append(
            stack.run_until_idle(
                timeout_s=300,
                concurrent=concurrent,
                arriving=arriving,
                on_progress=lambda stats, pending: rounds.release(),
            )
        )

    pumping = threading.Thread(target=pump, daemon=True)
    pumping.start()
    try:
        for _ in range(3):  # three rounds of the pump, the queues long empty by the third
            assert rounds.acquire(timeout=60)
        assert pumping.is_alive() and not done
        stack.upload("email/late.eml", b"From: x\n\nhello")
    finally:
        arriving.set()
    pumping.join(timeout=300)
    assert done and [k for b in recorder.bodies() for k in s3_keys_in(b)] == ["email/late.eml"]


def test_sending_in_the_background_says_when_it_is_done_and_raises_what_failed(stack: LocalStack) -> None:
    """GIVEN items sent beside the pump WHEN all are sent THEN the arrivals are over and every
    object is in the bucket; WHEN an upload fails THEN the arrivals are over too (the pump can
    stop) and the failure is raised where the sending was started."""
    items = [Item(f"email/{n}.eml", 1, b"From: x\n\nhi", f"email/{n}.eml") for n in range(3)]
    with sending(stack, items) as arriving:
        assert arriving.wait(timeout=60)
    listed = stack.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="email/")
    assert sorted(o["Key"] for o in listed.get("Contents", [])) == [i.key for i in items]

    def refuse(key: str, body: bytes) -> None:
        raise OSError("bucket unreachable")

    stack.upload = refuse  # type: ignore[method-assign]
    with pytest.raises(OSError, match="bucket unreachable"), sending(stack, items) as arriving:
        assert arriving.wait(timeout=60)

"""Bounded work per invocation (issue 15, finding 4): a cap on the sentences of a document and the
posts of a file, each recorded, and the Lambda context's remaining time checked so that a long
batch returns its unfinished messages to be retried before the function's timeout. And the
failure metric, FailedMessages, for every failed message.

Time is the context's `get_remaining_time_in_millis`, made to fall with each endpoint call:
the tests count calls, never seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from conftest import FakeLambdaContext
from pv.channels.social import parse_jsonl
from pv.models import Quarantined
from pv.observability import SERVICE
from test_faults import AE_EMAIL

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@dataclass
class FallingClock(FakeLambdaContext):
    """A Lambda context whose remaining time is whatever `left()` says."""

    left: Callable[[], int] = lambda: 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.left()


def ae_email(n: int) -> bytes:
    return AE_EMAIL + f"\nReference {n}.\n".encode()


def _pipeline_object():
    from pv import runtime

    return runtime.screening_pipeline()


def test_a_document_over_the_sentence_limit_is_screened_up_to_it_and_its_record_says_so(pipeline, endpoint):
    """GIVEN a limit of 10 sentences per document WHEN a 40-sentence note is screened THEN 10 are
    sent to the endpoint and the record counts the 30 others under `sentence_limit`."""
    _pipeline_object().max_sentences = 10
    note = "\n".join(f"Caller: Line {n} about my headache." for n in range(40)).encode()
    pipeline.upload("call/long.txt", note)

    pipeline.run()

    (screening,) = pipeline.screenings()
    assert sum(len(inputs) for inputs in endpoint.inputs) == 10
    assert (screening["sentence_count"], screening["unscreened_sentences"]) == (10, 30)
    assert screening["capped_reason"] == "sentence_limit"
    assert screening["is_ae"] is True


def test_a_file_over_the_post_limit_screens_the_first_posts_and_records_the_lines_left():
    posts = [json.dumps({"id": f"p{n}", "text": f"post {n}"}) for n in range(5)]
    body = "\n".join([*posts[:3], "", *posts[3:]]).encode()

    results = parse_jsonl("social/feed.jsonl", body, received_at=NOW, max_posts=3)

    assert [r.source_key for r in results] == [
        "social/feed.jsonl#p0",
        "social/feed.jsonl#p1",
        "social/feed.jsonl#p2",
        "social/feed.jsonl#lines-5-6",
    ]
    rest = results[-1]
    assert isinstance(rest, Quarantined) and rest.reason == "post_limit"
    again = parse_jsonl("social/feed.jsonl", body, received_at=NOW, max_posts=3)
    assert again[-1].document_id == rest.document_id  # a redelivered file is the same record


def test_a_file_over_the_post_limit_gets_a_record_for_every_post_and_for_the_rest(pipeline):
    _pipeline_object().max_posts = 2
    body = "\n".join(json.dumps({"id": f"p{n}", "text": f"my legs ache {n}"}) for n in range(4)).encode()
    pipeline.upload("social/feed.jsonl", body)

    pipeline.run()

    records = {s["source_key"]: s for s in pipeline.screenings()}
    assert set(records) == {"social/feed.jsonl#p0", "social/feed.jsonl#p1", "social/feed.jsonl#lines-3-4"}
    assert records["social/feed.jsonl#lines-3-4"]["quarantine_reason"] == "post_limit"


def test_a_long_batch_returns_its_unfinished_messages_before_the_timeout_and_they_are_retried(
    pipeline, endpoint
):
    """GIVEN five emails in one batch and an invocation whose time runs under the reserve after
    two endpoint requests WHEN screened THEN no third request is sent, the messages not finished
    are reported failed (nothing written for them), and the next delivery screens them."""
    from pv.handlers import screen

    for n in range(5):
        pipeline.upload(f"email/ae-{n}.eml", ae_email(n))
    reserve = _pipeline_object().reserve_ms
    pipeline.context = FallingClock(left=lambda: reserve + 1 - max(0, endpoint.calls - 1) * 10_000)

    (response,) = pipeline.deliver("intake_queue", screen.handler)

    failed = len(response["batchItemFailures"])
    assert endpoint.calls == 2
    assert failed >= 1
    assert len(pipeline.screenings()) + failed == 5
    pipeline.context = FakeLambdaContext()
    pipeline.run()
    assert len(pipeline.screenings()) == 5
    assert len(pipeline.cases()) == 5


def test_with_too_little_time_left_no_message_is_read_and_all_are_returned(pipeline, endpoint):
    from pv.handlers import screen

    for n in range(3):
        pipeline.upload(f"email/ae-{n}.eml", ae_email(n))
    pipeline.context = FallingClock(left=lambda: 4_000)

    (response,) = pipeline.deliver("intake_queue", screen.handler)

    assert len(response["batchItemFailures"]) == 3
    assert endpoint.calls == 0
    assert pipeline.screenings() == []


def test_case_function_returns_the_requests_it_has_no_time_for(pipeline):
    from pv.handlers import case

    for n in range(2):
        pipeline.upload(f"email/ae-{n}.eml", ae_email(n))
    pipeline.screen()
    pipeline.context = FallingClock(left=lambda: case.CASE_RESERVE_MS - 1)

    (response,) = pipeline.deliver("case_queue", case.handler)

    assert len(response["batchItemFailures"]) == 2
    assert pipeline.cases() == []
    pipeline.context = FakeLambdaContext()
    pipeline.open_cases()
    assert len(pipeline.cases()) == 2


def _failed_messages(output: str) -> list[dict]:
    """The FailedMessages EMF records a handler printed."""
    records = []
    for line in output.splitlines():
        if '"_aws"' in line and "FailedMessages" in line:
            records.append(json.loads(line))
    return records


def _count(value) -> float:
    return sum(value) if isinstance(value, list) else value


@pytest.mark.parametrize("poisoned", [True, False])
def test_screen_function_emits_failed_messages_for_every_failed_message_without_personal_data(
    pipeline, endpoint, capsys, poisoned
):
    """GIVEN a batch with (or without) a document the endpoint fails on WHEN screened THEN the
    invocation's metrics count FailedMessages 1 (or 0), under the service dimension only (what
    FailedMessagesAlarm watches), and name no document."""
    from pv.handlers import screen

    endpoint.refuses = re.compile("POISONED")
    pipeline.upload("email/good.eml", ae_email(1))
    if poisoned:
        pipeline.upload("email/jane-doe.eml", AE_EMAIL + b"\nPOISONED text.\n")
    capsys.readouterr()

    pipeline.deliver("intake_queue", screen.handler)

    (record,) = _failed_messages(capsys.readouterr().out)
    assert _count(record["FailedMessages"]) == (1 if poisoned else 0)
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert record["service"] == SERVICE
    assert "jane" not in json.dumps(record).lower()


def test_case_function_emits_failed_messages(pipeline, capsys):
    from pv.handlers import case

    pipeline.sqs.send_message(QueueUrl=pipeline.r["case_queue"], MessageBody='{"not": "a case request"}')
    capsys.readouterr()

    pipeline.deliver("case_queue", case.handler)

    (record,) = _failed_messages(capsys.readouterr().out)
    assert _count(record["FailedMessages"]) == 1

"""Faults in the endpoint, DynamoDB, SNS and the functions themselves: the end state still holds.

Every test ends with a reconciliation (`pv_local.load.reconcile`): each document in exactly one
terminal state (screened, quarantined with a reason, or in a dead-letter queue), no case or alert
twice, nothing lost. Injected AWS errors short-circuit botocore's `before-call` event, so they
reach the code as they would after botocore's own retries gave up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import endpoint_double
import pytest
from botocore.awsrequest import AWSResponse
from endpoint_double import Fault
from pv_local.load import DEAD_LETTER, QUARANTINED, SCREENED_AE, SCREENED_NOT_AE, holds_up, reconcile

AE_EMAIL = b"""From: Jane Example <jane.example@example.org>
To: medinfo@pharma.example
Subject: Problem after new tablets
Content-Type: text/plain; charset=utf-8

I started taking Lipitor two weeks ago. Since last week I have a terrible rash on my arms.
"""

QUESTION_EMAIL = b"""From: Sam Sample <sam@example.org>
To: medinfo@pharma.example
Subject: Storage question
Content-Type: text/plain; charset=utf-8

Can I keep the insulin pens out of the fridge while travelling?
"""

AE_CALL = (
    b"Agent: Pharmacovigilance line, how can I help?\nCaller: Since the warfarin my gums keep bleeding.\n"
)

ROUTES = (("intake_queue", "screen"), ("social_queue", "screen"), ("case_queue", "case"))


class Crash(BaseException):
    """The function dies mid-batch (timeout, out of memory): no batch response is returned."""


def lambda_like(handler: Callable[..., Any]) -> Callable[..., Any]:
    """The handler as Lambda's event source mapping sees it: if it raises, the whole batch returns."""

    def invoke(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return handler(event, context)
        except (Exception, Crash):
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    return invoke


def drain(pipeline: Any, rounds: int = 12) -> None:
    """Pump all three queues until they are empty (failures retried, poison dead-lettered)."""
    from pv.handlers import case, screen

    handlers = {"screen": lambda_like(screen.handler), "case": lambda_like(case.handler)}
    for _ in range(rounds):
        for queue, function in ROUTES:
            pipeline.deliver(queue, handlers[function])
        if all(pipeline.queue_depth(queue) == 0 for queue, _ in ROUTES):
            return
    raise AssertionError(f"queues not empty after {rounds} rounds")


def dead_letters(pipeline: Any) -> list[tuple[str, str]]:
    found = []
    for kind in ("intake", "social", "case"):
        url = pipeline.r[f"{kind}_dlq"]
        while messages := pipeline.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300
        ).get("Messages", []):
            found.extend((kind, m["Body"]) for m in messages)
    return found


def end_state(pipeline: Any, expected: dict[str, int]) -> dict[str, Any]:
    """Drain, then reconcile every expected object against tables, dead letters and alerts."""
    drain(pipeline)
    alerts = [json.loads(a["Message"]) for a in pipeline.alerts()]
    return reconcile(expected, pipeline.screenings(), dead_letters(pipeline), pipeline.cases(), alerts)


def inject_error(
    client: Any,
    operation: str,
    code: str,
    *,
    times: int = 1,
    status: int = 500,
    when: Callable[..., bool] | None = None,
) -> list[int]:
    """Make the next `times` calls of `operation` on `client` fail with `code`; returns a hit counter."""
    hits = [0]

    def fail(params: dict[str, Any], **_: Any) -> Any:
        if hits[0] >= times or (when is not None and not when(params)):
            return None
        hits[0] += 1
        parsed = {
            "Error": {"Code": code, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return AWSResponse("https://injected.invalid", status, {}, None), parsed

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service}.{operation}", fail)
    return hits


def written_items(params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, item) of each item a PutItem or TransactWriteItems request puts."""
    body = json.loads(params["body"])
    if "TransactItems" in body:
        puts = [action["Put"] for action in body["TransactItems"] if "Put" in action]
        return [(put["TableName"], put["Item"]) for put in puts]
    return [(body["TableName"], body["Item"])] if "Item" in body else []


def for_table(name: str) -> Callable[[dict[str, Any]], bool]:
    """A request that writes an item to table `name`."""
    return lambda params: any(table == name for table, _ in written_items(params))


def max_attempts(pipeline: Any) -> int:
    """The endpoint attempts in one invocation: the template's CLASSIFIER_MAX_ATTEMPTS."""
    return int(pipeline.environment("ScreenFunction")["CLASSIFIER_MAX_ATTEMPTS"])


def test_endpoint_throttling_beyond_the_retries_fails_the_message_once_then_it_is_screened(
    pipeline, endpoint
):
    """GIVEN the endpoint throttles every attempt of the first delivery WHEN the queue drains
    THEN the document is screened on redelivery and gets one case and one alert."""
    endpoint.faults.extend([Fault(status=429, code="ThrottlingException")] * max_attempts(pipeline))
    pipeline.upload("email/ae.eml", AE_EMAIL)
    pipeline.upload("email/question.eml", QUESTION_EMAIL)

    report = end_state(pipeline, {"email/ae.eml": 1, "email/question.eml": 1})

    assert report["terminal_states"] == {SCREENED_AE: 1, SCREENED_NOT_AE: 1}
    assert (report["cases"], report["alerts"]) == (1, 1)
    assert holds_up(report), report


@pytest.mark.parametrize(
    ("fault", "times"),
    [
        # Retried in the invocation: every attempt of one delivery (CLASSIFIER_MAX_ATTEMPTS) fails.
        (Fault(status=500), "max_attempts"),
        (Fault(status=503, code="ServiceUnavailable"), "max_attempts"),
        # Contract violations are not retried in the invocation: each fails one delivery, and two
        # failed deliveries stay under the template's maxReceiveCount.
        (Fault(status=200, body="this is not json"), 2),
        (Fault(status=200, body='[{"label": "Adverse_Event", "score": 0.9}]'), 2),  # short answer
        (Fault(status=200, body='{"predictions": "nope"}'), 2),
    ],
    ids=["500", "503", "malformed", "short", "wrong-shape"],
)
def test_a_failed_or_broken_endpoint_answer_delays_the_documents_but_loses_none(
    pipeline, endpoint, fault, times
):
    """GIVEN bad answers to the first deliveries WHEN the queue drains THEN every document is
    screened once, with one case and one alert per AE."""
    endpoint.faults.extend([fault] * (max_attempts(pipeline) if times == "max_attempts" else times))
    assert pipeline.max_receive_count("intake_queue") > 2
    pipeline.upload("email/ae.eml", AE_EMAIL)
    pipeline.upload("call/ae.txt", AE_CALL)
    pipeline.upload("email/question.eml", QUESTION_EMAIL)

    report = end_state(pipeline, {"email/ae.eml": 1, "call/ae.txt": 1, "email/question.eml": 1})

    assert report["terminal_states"] == {SCREENED_AE: 2, SCREENED_NOT_AE: 1}
    assert (report["cases"], report["alerts"]) == (2, 2)
    assert holds_up(report), report


def test_an_endpoint_timeout_is_retried_within_the_invocation(pipeline, endpoint, monkeypatch):
    """GIVEN the endpoint answers the first call after the client's read timeout WHEN screened
    THEN the retry succeeds in the same invocation and no message fails.

    The slow answer is a contract violation (no score for the sentences): had the client waited
    for it, the message would have failed. So no failure after two calls means the client gave up
    on the first and retried; no clock is read."""
    from pv import runtime

    monkeypatch.setenv("CLASSIFIER_TIMEOUT_S", "0.5")
    runtime.reset()
    endpoint.faults.append(Fault(status=200, body="[]", delay_s=5.0))
    pipeline.upload("email/ae.eml", AE_EMAIL)

    responses = pipeline.screen()

    assert [r["batchItemFailures"] for r in responses] == [[]]
    assert endpoint.calls == 2
    assert len(endpoint.inputs) == 1  # one well-formed answer: the retry's
    report = end_state(pipeline, {"email/ae.eml": 1})
    assert report["terminal_states"] == {SCREENED_AE: 1}
    assert holds_up(report), report


def test_an_endpoint_that_never_answers_correctly_sends_its_documents_to_the_dlq(pipeline, endpoint):
    """GIVEN the endpoint always answers short WHEN the queue drains THEN the documents that need
    it end in the intake DLQ after the template's maxReceiveCount deliveries, and bad input is
    quarantined."""
    endpoint.always = Fault(status=200, body="[]")
    pipeline.upload("email/ae.eml", AE_EMAIL)
    pipeline.upload("email/question.eml", QUESTION_EMAIL)
    pipeline.upload("email/empty.eml", b"")

    report = end_state(pipeline, {"email/ae.eml": 1, "email/question.eml": 1, "email/empty.eml": 1})

    assert report["terminal_states"] == {DEAD_LETTER: 2, QUARANTINED: 1}
    assert report["quarantine_reasons"] == {"empty": 1}
    # Per delivery (maxReceiveCount of them): the request both documents share, then one per
    # document to isolate the failure.
    assert endpoint.calls == pipeline.max_receive_count("intake_queue") * (1 + 2)
    assert (report["cases"], report["alerts"]) == (0, 0)
    assert holds_up(report), report


def test_screenings_table_throttling_fails_only_that_message_and_the_retry_cases_it_once(pipeline):
    """GIVEN the Screenings table throttles the first write WHEN the queue drains THEN the
    document is re-screened on redelivery; the case request sent twice makes one case, one alert."""
    from pv import runtime

    table = runtime.settings().screenings_table
    hits = inject_error(
        runtime.clients().dynamodb.meta.client,
        "PutItem",
        "ProvisionedThroughputExceededException",
        status=400,
        when=for_table(table),
    )
    pipeline.upload("email/ae.eml", AE_EMAIL)

    report = end_state(pipeline, {"email/ae.eml": 1})

    assert hits == [1]
    assert report["terminal_states"] == {SCREENED_AE: 1}
    assert (report["cases"], report["alerts"]) == (1, 1)
    assert holds_up(report), report


def test_cases_table_throttling_is_retried_and_opens_one_case(pipeline):
    """GIVEN the Cases table throttles the first case write (the transaction of the case and its
    drug index items) WHEN the queue drains THEN the case message is retried (idempotency released
    the key) and makes one case and one alert."""
    from pv import runtime

    hits = inject_error(
        runtime.clients().dynamodb.meta.client,
        "TransactWriteItems",
        "ThrottlingException",
        status=400,
        when=for_table(runtime.settings().cases_table),
    )
    pipeline.upload("email/ae.eml", AE_EMAIL)

    report = end_state(pipeline, {"email/ae.eml": 1})

    assert hits == [1]
    assert (report["cases"], report["alerts"]) == (1, 1)
    assert holds_up(report), report


def race_first_put(table: str, key: str) -> list[str]:
    """Make another writer store the same item just before the handlers' first PutItem on `table`
    (a concurrent delivery winning the race); returns the keys raced, filled as it happens."""
    from pv import runtime

    writer = boto3.client("dynamodb")  # the other invocation's client: not hooked
    raced: list[str] = []

    def concurrent_writer(params: dict[str, Any], **_: Any) -> None:
        for written_to, item in written_items(params):
            if written_to == table and not raced:
                raced.append(item[key]["S"])
                writer.put_item(TableName=table, Item=item)

    events = runtime.clients().dynamodb.meta.client.meta.events
    for operation in ("PutItem", "TransactWriteItems"):  # a case is written with its drug index items
        events.register(f"before-call.dynamodb.{operation}", concurrent_writer)
    return raced


def test_a_conditional_check_conflict_on_the_screening_record_counts_the_document_once(pipeline, endpoint):
    """GIVEN a concurrent invocation writes the same screening record first (the conditional put
    fails) WHEN the queue drains THEN one record, one case and one alert."""
    from pv import runtime

    raced = race_first_put(runtime.settings().screenings_table, "document_id")
    pipeline.upload("email/ae.eml", AE_EMAIL)

    report = end_state(pipeline, {"email/ae.eml": 1})

    assert len(raced) == 1
    assert report["terminal_states"] == {SCREENED_AE: 1}
    assert (report["cases"], report["alerts"]) == (1, 1)
    assert holds_up(report), report


def test_a_conditional_check_conflict_on_the_case_keeps_one_case_and_one_alert(pipeline):
    """GIVEN another delivery stores the case between our read and our write WHEN the case
    function resumes THEN it adopts the stored case and publishes its alert once."""
    from pv import runtime

    raced = race_first_put(runtime.settings().cases_table, "case_id")
    pipeline.upload("email/ae.eml", AE_EMAIL)

    report = end_state(pipeline, {"email/ae.eml": 1})

    assert len(raced) == 1
    assert (report["cases"], report["alerts"]) == (1, 1)
    assert pipeline.cases()[0]["alert_state"] == "sent"
    assert holds_up(report), report


def test_a_new_case_is_stored_without_first_reading_the_cases_table(pipeline):
    """GIVEN a flagged email WHEN its case opens THEN the Cases table is written once and not read
    (a case is looked up only when storing it finds one there: a retry's delivery)."""
    from pv import runtime

    calls: list[str] = []
    cases_table = runtime.settings().cases_table

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == cases_table or cases_table in str(params.get("TransactItems", "")):
            calls.append(model.name)

    runtime.clients().dynamodb.meta.client.meta.events.register("before-parameter-build.dynamodb", count)
    pipeline.upload("email/ae.eml", AE_EMAIL)

    report = end_state(pipeline, {"email/ae.eml": 1})

    assert (report["cases"], report["alerts"]) == (1, 1)
    assert calls == ["TransactWriteItems", "UpdateItem"]  # the case with its index, then alert sent


def test_an_sns_publish_failure_keeps_the_case_and_publishes_exactly_once_on_retry(pipeline):
    """GIVEN SNS fails the first publish WHEN the case message is retried THEN the stored case is
    reused (still one) and the alert goes out exactly once."""
    from pv import runtime

    hits = inject_error(runtime.clients().sns, "Publish", "InternalError")
    pipeline.upload("email/ae.eml", AE_EMAIL)
    pipeline.screen()

    first = pipeline.deliver("case_queue", lambda_like(_case_handler()))
    assert len(first[0]["batchItemFailures"]) == 1
    (pending,) = pipeline.cases()
    assert pending["alert_state"] != "sent"

    report = end_state(pipeline, {"email/ae.eml": 1})

    assert hits == [1]
    assert (report["cases"], report["alerts"]) == (1, 1)
    assert pipeline.cases()[0]["alert_state"] == "sent"
    assert holds_up(report), report


def _case_handler() -> Callable[..., Any]:
    from pv.handlers import case

    return case.handler  # type: ignore[no-any-return]


def test_a_screen_function_crashing_mid_batch_is_redelivered_without_duplicates(pipeline, endpoint):
    """GIVEN ScreenFunction dies after completing some messages of a batch WHEN Lambda redelivers
    the whole batch THEN each document has one record, one case and one alert."""
    from pv import runtime

    service = runtime.screening_pipeline()
    complete = service.complete
    completed = []

    def crash_on_third(outcome: Any, *args: Any) -> None:
        if len(completed) == 2:
            completed.append("crash")
            raise Crash()
        complete(outcome, *args)
        completed.append("ok")

    service.complete = crash_on_third  # type: ignore[method-assign]
    keys = {f"email/ae-{i}.eml": 1 for i in range(3)} | {f"call/ae-{i}.txt": 1 for i in range(2)}
    for i, key in enumerate(keys):
        pipeline.upload(key, (AE_EMAIL if key.startswith("email") else AE_CALL) + f"\nref {i}\n".encode())

    report = end_state(pipeline, keys)

    assert completed[:3] == ["ok", "ok", "crash"]
    assert report["terminal_states"] == {SCREENED_AE: 5}
    assert (report["cases"], report["alerts"]) == (5, 5)
    assert holds_up(report), report


def test_a_case_function_crashing_mid_batch_is_redelivered_without_duplicates(pipeline, monkeypatch):
    """GIVEN CaseFunction dies while storing the second case of a batch WHEN the batch comes back
    (after the idempotency in-progress lock expires) THEN one case and one alert per document."""
    from pv import runtime
    from pv.handlers import case

    # A short invocation, so that the crashed one's in-progress idempotency records expire soon;
    # the time kept back for a case is not what this test is about.
    pipeline.context.get_remaining_time_in_millis = lambda: 300  # type: ignore[method-assign]
    monkeypatch.setattr(case, "CASE_RESERVE_MS", 0)
    monkeypatch.setattr(runtime.screening_pipeline(), "reserve_ms", 0)
    monkeypatch.setattr("pv.screening.COMPLETE_RESERVE_MS", 0)
    store = runtime.case_service().cases
    create = store.create
    calls = []

    def crash_on_second(case: Any, **listed: Any) -> bool:
        calls.append(case.case_id)
        if len(calls) == 2:
            raise Crash()
        return create(case, **listed)

    monkeypatch.setattr(store, "create", crash_on_second)
    keys = {f"email/ae-{i}.eml": 1 for i in range(3)}
    for i, key in enumerate(keys):
        pipeline.upload(key, AE_EMAIL + f"\nref {i}\n".encode())
    pipeline.screen()
    pipeline.deliver("case_queue", lambda_like(_case_handler()))
    time.sleep(0.5)  # the crashed invocation's in-progress idempotency records expire

    report = end_state(pipeline, keys)

    assert len(calls) >= 4
    assert (report["cases"], report["alerts"]) == (3, 3)
    assert holds_up(report), report


def test_the_same_s3_object_notified_twice_is_screened_once(pipeline, endpoint):
    """GIVEN S3 delivers the same notification twice (in one batch and again later) WHEN the
    queue drains THEN the endpoint sees the document once; one record, one case, one alert."""
    pipeline.upload("email/ae.eml", AE_EMAIL)
    (message,) = pipeline.sqs.receive_message(QueueUrl=pipeline.r["intake_queue"])["Messages"]
    pipeline.sqs.change_message_visibility(
        QueueUrl=pipeline.r["intake_queue"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    pipeline.sqs.send_message(QueueUrl=pipeline.r["intake_queue"], MessageBody=message["Body"])

    report = end_state(pipeline, {"email/ae.eml": 1})
    pipeline.sqs.send_message(QueueUrl=pipeline.r["intake_queue"], MessageBody=message["Body"])
    again = end_state(pipeline, {"email/ae.eml": 1})

    assert endpoint.calls == 1
    assert report["terminal_states"] == again["terminal_states"] == {SCREENED_AE: 1}
    assert (report["cases"], report["alerts"]) == (1, 1)
    assert (again["cases"], again["alerts"]) == (1, 0)  # no second alert arrived
    assert holds_up(report), report


def test_an_object_deleted_before_it_is_read_is_quarantined_and_the_batch_goes_on(pipeline):
    """GIVEN one object of a batch is deleted for good (its version, not a delete marker) before
    ScreenFunction reads it WHEN screened THEN it is quarantined as object_missing and the others
    are screened."""
    pipeline.upload("email/gone.eml", AE_EMAIL)
    (version,) = pipeline.s3.list_object_versions(Bucket=pipeline.r["bucket"], Prefix="email/gone.eml")[
        "Versions"
    ]
    pipeline.s3.delete_object(
        Bucket=pipeline.r["bucket"], Key="email/gone.eml", VersionId=version["VersionId"]
    )
    pipeline.upload("email/question.eml", QUESTION_EMAIL)

    report = end_state(pipeline, {"email/gone.eml": 1, "email/question.eml": 1})

    assert report["terminal_states"] == {QUARANTINED: 1, SCREENED_NOT_AE: 1}
    assert report["quarantine_reasons"] == {"object_missing": 1}
    assert holds_up(report), report


def test_poison_case_messages_end_in_the_case_dlq_after_max_receive_count(pipeline):
    """GIVEN a CaseQueue message that is not a case request and one whose parsed document is gone
    WHEN the queue drains THEN both end in the case DLQ after maxReceiveCount deliveries; no case,
    no alert."""
    pipeline.upload("email/ae.eml", AE_EMAIL)
    pipeline.screen()
    (request,) = pipeline.sqs.receive_message(QueueUrl=pipeline.r["case_queue"])["Messages"]
    body = json.loads(request["Body"])
    pipeline.s3.delete_object(Bucket=pipeline.r["bucket"], Key=body["document_ref"])
    pipeline.sqs.change_message_visibility(
        QueueUrl=pipeline.r["case_queue"], ReceiptHandle=request["ReceiptHandle"], VisibilityTimeout=0
    )
    pipeline.sqs.send_message(QueueUrl=pipeline.r["case_queue"], MessageBody='{"not": "a case request"}')

    report = end_state(pipeline, {"email/ae.eml": 1})

    assert report["case_dead_letters"] == 1  # the request with a source key; the other has none
    assert (report["cases"], report["alerts"]) == (0, 0)
    assert report["terminal_states"] == {SCREENED_AE: 1}
    assert report["lost"] == 0 and report["ae_without_case"] == 0
    dlq = pipeline.sqs.get_queue_attributes(
        QueueUrl=pipeline.r["case_dlq"], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert dlq["ApproximateNumberOfMessagesNotVisible"] == "2"


def test_a_poison_social_post_ends_in_the_social_dlq_and_the_other_posts_are_screened(pipeline, endpoint):
    """GIVEN the endpoint rejects every delivery of a post up to the template's maxReceiveCount WHEN
    the queue drains THEN that post is dead-lettered, a later post is screened, and nothing is
    counted twice."""
    rejections = pipeline.max_receive_count("social_queue")
    endpoint.faults.extend([Fault(status=400, code="ValidationError")] * rejections)
    pipeline.push_post({"id": "poison-1", "text": "My headaches got worse on this pill."})

    first = end_state(pipeline, {"social/queue#poison-1": 1})
    pipeline.push_post({"id": "ok-2", "text": "Ibuprofen made me dizzy all afternoon."})
    second = end_state(pipeline, {"social/queue#ok-2": 1})

    assert first["terminal_states"] == {DEAD_LETTER: 1}
    assert second["terminal_states"] == {SCREENED_AE: 1}
    assert (second["cases"], second["alerts"]) == (1, 1)
    assert holds_up(first) and holds_up(second)


def test_the_endpoint_double_is_reached_through_the_sagemaker_runtime_client(pipeline, endpoint):
    """Guard for the tests above: faults only prove something if the handlers really call the double."""
    pipeline.upload("email/ae.eml", AE_EMAIL)
    pipeline.screen()
    assert endpoint.calls == 1
    assert any(endpoint_double.AE_WORDS.search(s) for s in endpoint.inputs[0])

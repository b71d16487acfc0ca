"""Issue 15's bars, scripted against `pv local up` as a user's tools drive it: objects put with
boto3 into the moto endpoint stack.json names (S3 notifies IntakeQueue, the pump runs the
functions), a contract-following endpoint double behind the classifier, alerts read from a queue
subscribed to the safety topic, cases from the review API.

- an overwritten key gets both versions screened, and the AE version opens a case and an alert;
- a poisoned document plus four good ones in one batch gives four cases;
- a 620 KB report with 3,000 flagged sentences is stored, cased and alerted.

To put several objects into one batch, the double holds the requests of a first document (its
`gate`) while the others are put: they queue up behind it, as they do behind a busy function.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import endpoint_double
import pytest
from big_inputs import big_call_note
from local_up import LocalUp, local_up
from pv.cases import case_id_for
from pv.models import MAX_INLINE_FLAGGED, document_id_for
from test_faults import AE_EMAIL, QUESTION_EMAIL

POISON = re.compile("POISONED")
BLOCKER = b"Agent: Pharmacovigilance line.\nCaller: Just checking the opening hours of the line.\n"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`pv local up` with the endpoint double, and an alerts queue subscribed to the topic."""
    double = endpoint_double.EndpointDouble(refuses=POISON)
    server, url = endpoint_double.start(double)
    try:
        with local_up(tmp_path_factory.mktemp("nothing-lost"), url) as up:
            sqs = up.client("sqs")
            alerts = sqs.create_queue(QueueName="test-alerts")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=alerts, AttributeNames=["QueueArn"])["Attributes"]
            up.client("sns").subscribe(
                TopicArn=up.stack["resources"]["SafetyAlertsTopic"],
                Protocol="sqs",
                Endpoint=arn["QueueArn"],
            )
            yield {"up": up, "double": double, "alerts": alerts, "received": []}
    finally:
        server.shutdown()


def _put(up: LocalUp, key: str, body: bytes) -> str:
    """Put an object into the intake bucket; its version id."""
    response = up.client("s3").put_object(Bucket=up.stack["resources"]["IntakeBucket"], Key=key, Body=body)
    return str(response["VersionId"])


def _alerts(stack: dict[str, Any]) -> list[dict[str, Any]]:
    """Every alert the subscribed queue has received so far."""
    sqs = stack["up"].client("sqs")
    while True:
        messages = sqs.receive_message(QueueUrl=stack["alerts"], MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return list(stack["received"])
        for message in messages:
            stack["received"].append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=stack["alerts"], ReceiptHandle=message["ReceiptHandle"])


def _screening(up: LocalUp, document_id: str) -> dict[str, Any] | None:
    table = up.stack["resources"]["ScreeningsTable"]
    item = up.client("dynamodb").get_item(TableName=table, Key={"document_id": {"S": document_id}})
    return item.get("Item")


def _case_of(up: LocalUp, document_id: str) -> dict[str, Any] | None:
    """The case of a document, from the review API (its id derives from the document's)."""
    answer = up.call("GET", f"cases/{case_id_for(document_id)}")
    assert answer.status in (200, 404), answer.text
    return answer.body if answer.status == 200 else None


def _in_one_batch(stack: dict[str, Any], blocker_key: str, put: Any) -> None:
    """Hold the endpoint on a first document while `put()` puts the others, then let go."""
    double, up = stack["double"], stack["up"]
    double.gate = threading.Event()
    held = double.held
    _put(up, blocker_key, BLOCKER + blocker_key.encode() + b"\n")
    up.until(lambda: double.held > held)
    try:
        put()
    finally:
        double.gate.set()


def test_an_overwritten_key_gets_both_versions_screened_and_the_adverse_event_cased_and_alerted(stack):
    """GIVEN an AE email and then a question put under the same key before either is screened
    WHEN the pump has run THEN each version has its screening, and the AE version one case and
    one alert."""
    up, key = stack["up"], "email/overwritten.eml"
    versions: list[str] = []
    _in_one_batch(
        stack,
        "call/blocker-1.txt",
        lambda: versions.extend([_put(up, key, AE_EMAIL), _put(up, key, QUESTION_EMAIL)]),
    )

    ae = up.until(lambda: _screening(up, document_id_for(AE_EMAIL)))
    question = up.until(lambda: _screening(up, document_id_for(QUESTION_EMAIL)))
    case = up.until(lambda: _case_of(up, document_id_for(AE_EMAIL)))
    alerts = up.until(lambda: [a for a in _alerts(stack) if a["case_id"] == case["case_id"]])

    assert (ae["source_version"]["S"], ae["is_ae"]["BOOL"]) == (versions[0], True)
    assert (question["source_version"]["S"], question["is_ae"]["BOOL"]) == (versions[1], False)
    assert case["source_key"] == key
    assert len(alerts) == 1


def test_a_poisoned_document_and_four_good_ones_in_one_batch_give_four_cases(stack):
    """GIVEN five emails in one batch, one of them holding text the endpoint answers 500 to WHEN
    the pump has run THEN the four good ones are cased and alerted, and the poisoned one ends in
    the intake DLQ after its retries, unscreened."""
    up = stack["up"]
    good = {f"email/batch-good-{n}.eml": AE_EMAIL + f"\nBatch reference {n}.\n".encode() for n in range(4)}
    poisoned = AE_EMAIL + b"\nThis text is POISONED for the model.\n"

    def put_batch() -> None:
        keys = list(good)
        for key in keys[:2]:
            _put(up, key, good[key])
        _put(up, "email/batch-poisoned.eml", poisoned)
        for key in keys[2:]:
            _put(up, key, good[key])

    refused = stack["double"].refused
    _in_one_batch(stack, "call/blocker-2.txt", put_batch)

    def all_cased() -> list[dict[str, Any]] | None:
        found = [_case_of(up, document_id_for(body)) for body in good.values()]
        return found if all(found) else None  # type: ignore[return-value]

    cases = up.until(all_cased)
    case_ids = {c["case_id"] for c in cases}
    up.until(lambda: case_ids <= {a["case_id"] for a in _alerts(stack)})
    sqs = up.client("sqs")
    dlq = up.stack["resources"]["IntakeDLQ"]
    up.until(
        lambda: (
            int(
                sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
                    "Attributes"
                ]["ApproximateNumberOfMessages"]
            )
            >= 1
        )
    )

    assert len(case_ids) == 4
    assert _screening(up, document_id_for(poisoned)) is None
    assert _case_of(up, document_id_for(poisoned)) is None
    assert stack["double"].refused - refused >= 5  # each delivery of the poisoned message was refused


def test_a_620_kb_report_with_3000_flagged_sentences_is_stored_cased_and_alerted(stack):
    """GIVEN a 620 KB call note whose caller reports 3,000 reactions WHEN the pump has run THEN its
    screening, case and alert exist; the records hold the top 50 flagged sentences, the count,
    and the bucket the full list."""
    up = stack["up"]
    note = big_call_note(flagged=3000, target_bytes=620 * 1024)
    assert len(note) >= 620 * 1024
    _put(up, "call/long-note.txt", note)

    screening = up.until(lambda: _screening(up, document_id_for(note)), timeout_s=400)
    case = up.until(lambda: _case_of(up, document_id_for(note)), timeout_s=400)
    alerts = up.until(lambda: [a for a in _alerts(stack) if a["case_id"] == case["case_id"]], timeout_s=120)

    assert screening["is_ae"]["BOOL"] is True
    assert int(screening["flagged_count"]["N"]) == 3000
    assert len(screening["flagged"]["L"]) == MAX_INLINE_FLAGGED
    assert (case["flagged_count"], len(case["flagged"])) == (3000, MAX_INLINE_FLAGGED)
    s3 = up.client("s3")
    stored = s3.get_object(Bucket=up.stack["resources"]["IntakeBucket"], Key=screening["flagged_ref"]["S"])
    assert len(json.loads(stored["Body"].read())) == 3000
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert len(alerts) == 1

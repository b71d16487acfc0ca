"""One document never fails another (issue 15, finding 2): the documents of a batch share endpoint
requests, but a document the endpoint cannot take fails only its own message."""

from __future__ import annotations

import re

from test_faults import AE_EMAIL

POISON = re.compile("POISONED")


def ae_email(n: int) -> bytes:
    """An adverse-event email of its own bytes (a document of its own)."""
    return AE_EMAIL + f"\nReference {n}.\n".encode()


def upload_batch(pipeline) -> None:
    """Four good emails and a poisoned one between them (so that they share requests with it)."""
    pipeline.upload("email/good-0.eml", ae_email(0))
    pipeline.upload("email/good-1.eml", ae_email(1))
    pipeline.upload("email/poisoned.eml", AE_EMAIL + b"\nThis text is POISONED for the model.\n")
    pipeline.upload("email/good-2.eml", ae_email(2))
    pipeline.upload("email/good-3.eml", ae_email(3))


def test_a_poisoned_document_fails_only_its_own_message_and_the_four_others_open_cases(pipeline, endpoint):
    """GIVEN one batch of five emails, one of which holds text the endpoint answers 500 to WHEN
    screened THEN only that message is reported failed, and the four others are screened and
    open four cases and four alerts."""
    endpoint.refuses = POISON
    upload_batch(pipeline)

    (response,) = pipeline.screen()
    pipeline.open_cases()

    assert len(response["batchItemFailures"]) == 1
    assert sorted(s["source_key"] for s in pipeline.screenings()) == [f"email/good-{n}.eml" for n in range(4)]
    assert len(pipeline.cases()) == 4
    assert len(pipeline.alerts()) == 4
    assert pipeline.queue_depth("intake_queue") == 1  # the poisoned message, back for its retries


def test_a_poisoned_message_is_retried_alone_and_the_others_are_not_screened_again(pipeline, endpoint):
    """GIVEN the batch above WHEN the poisoned message comes back THEN only its own sentences are
    sent again."""
    endpoint.refuses = POISON
    upload_batch(pipeline)
    pipeline.screen()
    sent = len(endpoint.inputs)

    (retry,) = pipeline.screen()

    assert len(retry["batchItemFailures"]) == 1
    assert len(endpoint.inputs) == sent  # the retry's request was refused; nothing else was sent
    assert endpoint.refused >= 2

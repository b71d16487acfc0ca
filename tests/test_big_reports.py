"""Big reports (issue 15, finding 3): a record carries the top flagged sentences, the bucket all
of them, so no Screening, CaseRequest or Case outgrows DynamoDB's item or SQS's message limit."""

from __future__ import annotations

import json

import pytest
from big_inputs import big_call_note
from pv.models import MAX_INLINE_FLAGGED, SentenceScore, inline_flagged

KEY = "call/long-note.txt"


def _score(text: str, score: float) -> SentenceScore:
    return SentenceScore(text=text, label="Adverse_Event", score=score)


def test_inline_flagged_keeps_the_highest_scores_in_document_order():
    flagged = [_score("a", 0.6), _score("b", 0.9), _score("c", 0.7), _score("d", 0.9), _score("e", 0.5)]

    assert [s.text for s in inline_flagged(flagged, limit=3)] == ["b", "c", "d"]
    assert inline_flagged(flagged, limit=5) == flagged


@pytest.fixture
def roomy(pipeline, monkeypatch):
    """The pipeline with the template's default document limit (5 MB), not the tests' 64 KB."""
    from pv import runtime

    monkeypatch.setenv("MAX_DOCUMENT_BYTES", str(5 * 1024 * 1024))
    runtime.reset()
    return pipeline


def test_a_report_flagging_more_than_a_record_holds_keeps_the_top_inline_and_all_in_the_bucket(roomy):
    """GIVEN a call note whose caller reports 120 reactions WHEN screened and cased THEN the
    screening, the case request and the case each hold the top 50 flagged sentences and the count,
    and the bucket holds all 120 under the key they name."""
    note = big_call_note(flagged=120, target_bytes=24 * 1024)
    roomy.upload(KEY, note)

    roomy.screen()
    (request_message,) = roomy.sqs.receive_message(QueueUrl=roomy.r["case_queue"])["Messages"]
    roomy.sqs.change_message_visibility(
        QueueUrl=roomy.r["case_queue"], ReceiptHandle=request_message["ReceiptHandle"], VisibilityTimeout=0
    )
    roomy.open_cases()

    (screening,) = roomy.screenings()
    (case,) = roomy.cases()
    request = json.loads(request_message["Body"])
    for record in (screening, request, case):
        assert len(record["flagged"]) == MAX_INLINE_FLAGGED
        assert record["flagged_count"] == 120
        assert record["flagged_ref"] == screening["flagged_ref"]
    stored = json.loads(
        roomy.s3.get_object(Bucket=roomy.r["bucket"], Key=screening["flagged_ref"])["Body"].read()
    )
    assert len(stored) == 120
    assert {s["text"] for s in screening["flagged"]} <= {s["text"] for s in stored}
    assert len(roomy.alerts()) == 1


def test_a_report_with_few_flagged_sentences_keeps_them_all_inline_and_writes_no_list(pipeline):
    pipeline.upload(KEY, big_call_note(flagged=3, target_bytes=1024))

    pipeline.run()

    (screening,) = pipeline.screenings()
    assert (len(screening["flagged"]), screening["flagged_count"]) == (3, 3)
    assert "flagged_ref" not in screening
    listed = pipeline.s3.list_objects_v2(Bucket=pipeline.r["bucket"], Prefix="parsed/flagged/")
    assert listed["KeyCount"] == 0


def test_the_case_is_assessed_on_every_flagged_sentence_read_back_from_the_bucket(roomy):
    """GIVEN a case request whose flagged list is held by reference WHEN the case is opened THEN
    case intelligence is handed the full list."""
    from pv import runtime

    roomy.upload(KEY, big_call_note(flagged=120, target_bytes=24 * 1024))
    roomy.screen()
    service = runtime.case_service()
    assess = service.assess
    handed: list[int] = []

    def counting_assess(document, flagged):
        handed.append(len(flagged))
        return assess(document, flagged)

    service.assess = counting_assess
    roomy.open_cases()

    assert handed == [120]
    assert len(roomy.cases()) == 1

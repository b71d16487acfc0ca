"""Both handlers end to end on moto: S3 -> IntakeQueue -> ScreenFunction -> CaseQueue -> CaseFunction."""

from __future__ import annotations

import json

import endpoint_double
from mail_inputs import email_with_pdf, text_pdf

AE_EMAIL = b"""From: Jane Example <jane.example@example.org>
To: medinfo@pharma.example
Subject: Problem after new tablets
Date: Mon, 02 Nov 2026 09:15:00 +0000
Content-Type: text/plain; charset=utf-8

Hello,

I started taking Lipitor two weeks ago. Since last week I have a terrible rash on my arms and I
was hospitalised overnight because of dizziness.

Jane Example
07700 900123
"""

QUESTION_EMAIL = b"""From: Sam Sample <sam@example.org>
To: medinfo@pharma.example
Subject: Storage question
Content-Type: text/plain; charset=utf-8

Can I keep the insulin pens out of the fridge while travelling? Thank you for your help.
"""

TRANSCRIBE_JSON = {
    "jobName": "call-0001",
    "results": {
        "transcripts": [{"transcript": "Thank you for calling. I feel dizzy since I started the warfarin."}],
        "audio_segments": [
            {"id": 0, "transcript": "Thank you for calling, how can I help?", "speaker_label": "spk_0"},
            {
                "id": 1,
                "transcript": "I feel dizzy and I vomited twice since I started the warfarin.",
                "speaker_label": "spk_1",
            },
        ],
    },
}

AGENT_CALLER_TEXT = b"""Agent: Good morning, pharmacovigilance line, how can I help?
Caller: My son takes amoxicillin and he has a swelling of his face since yesterday.
Agent: I am sorry to hear that. Is he being seen by a doctor?
Caller: Yes, we saw the doctor this morning.
"""

SOCIAL_POSTS = [
    {"id": "p-1", "text": "Ozempic gave me nausea for a whole week, anyone else?", "author": "@fake_user1"},
    {"id": "p-2", "text": "Lovely weather for a walk today.", "author": "@fake_user2"},
]


def _by_key(items, key="source_key"):
    return {item[key]: item for item in items}


def test_an_email_a_transcript_a_call_note_and_a_social_batch_become_screenings_cases_and_alerts(pipeline):
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)
    pipeline.upload("email/question.eml", QUESTION_EMAIL)
    pipeline.upload("call/call-0001.json", json.dumps(TRANSCRIBE_JSON).encode())
    pipeline.upload("call/call-0002.txt", AGENT_CALLER_TEXT)
    pipeline.upload("social/batch-1.jsonl", "\n".join(json.dumps(p) for p in SOCIAL_POSTS).encode())

    pipeline.run()

    screenings = _by_key(pipeline.screenings())
    assert set(screenings) == {
        "email/ae-lipitor.eml",
        "email/question.eml",
        "call/call-0001.json",
        "call/call-0002.txt",
        "social/batch-1.jsonl#p-1",
        "social/batch-1.jsonl#p-2",
    }
    assert {k for k, s in screenings.items() if s["is_ae"]} == {
        "email/ae-lipitor.eml",
        "call/call-0001.json",
        "call/call-0002.txt",
        "social/batch-1.jsonl#p-1",
    }
    assert all(s["status"] == "screened" for s in screenings.values())
    lipitor = screenings["email/ae-lipitor.eml"]
    assert lipitor["model"] == "ae-classifier-test/double-v1"
    assert any("rash" in f["text"] for f in lipitor["flagged"])
    # The agent's own words are not screened: only the caller's turn was flagged.
    assert [f["text"] for f in screenings["call/call-0001.json"]["flagged"]] == [
        "I feel dizzy and I vomited twice since I started the warfarin."
    ]

    cases = _by_key(pipeline.cases())
    assert set(cases) == {k for k, s in screenings.items() if s["is_ae"]}
    case = cases["email/ae-lipitor.eml"]
    assert case["status"] in {"new", "incomplete"}
    assert case["alert_state"] == "sent"
    assert "atorvastatin" in case["facts"]["suspect_drugs"]

    alerts = pipeline.alerts()
    assert len(alerts) == 4
    by_case = {json.loads(a["Message"])["case_id"]: a for a in alerts}
    assert set(by_case) == {c["case_id"] for c in cases.values()}
    attributes = by_case[case["case_id"]]["MessageAttributes"]
    assert attributes["channel"]["Value"] == "email"
    assert attributes["serious"]["Value"] in {"true", "false"}
    assert "atorvastatin" in json.loads(attributes["drug"]["Value"])


ATTACHED_FORWARD_EMAIL = b"""From: Mark Jennings <mark.jennings@pharma.example>
To: medinfo@pharma.example
Subject: Fw: customer email
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="OUTER"

--OUTER
Content-Type: text/plain; charset=utf-8

FYI, this came to the sales inbox. Please handle.

--OUTER
Content-Type: message/rfc822
Content-Disposition: attachment; filename="customer.eml"

From: Rosa Delgado <rosa.delgado@example.com>
To: sales@pharma.example
Subject: nosebleeds
Content-Type: text/plain; charset=utf-8

Since I started Xarelto I get nosebleeds almost every day.

--OUTER--
"""


def test_a_report_forwarded_as_an_attachment_becomes_a_case_without_its_senders_address(pipeline):
    """GIVEN a colleague forwards a customer's email as an attachment WHEN the pipeline runs
    THEN the enclosed report is screened and becomes a case and an alert, and neither the
    enclosed sender's address nor name is in the alert."""
    pipeline.upload("email/attached-forward.eml", ATTACHED_FORWARD_EMAIL)

    pipeline.run()

    [screening] = pipeline.screenings()
    assert screening["is_ae"] is True
    [case] = pipeline.cases()
    assert "rivaroxaban" in case["facts"]["suspect_drugs"]
    [alert] = pipeline.alerts()
    assert "rosa" not in json.dumps(alert).lower()


def test_a_post_in_a_language_the_rules_do_not_read_becomes_an_incomplete_case_for_review(pipeline):
    """GIVEN an Italian post about bruising on Xarelto, which the classifier (English case reports)
    scores low WHEN the pipeline runs THEN the rules flag it by its drug, and its case is incomplete
    (no event the rules could extract) with a summary that asks for a person to read it."""
    pipeline.push_post(
        {
            "id": "it-1",
            "text": "Da quando ho iniziato Xarelto mi vengono lividi su tutto il corpo.",
            "author": "@fake_user3",
            "language": "it",
        }
    )

    pipeline.run()

    [screening] = pipeline.screenings()
    assert screening["is_ae"] is True and screening["flag_sources"] == ["rules"]
    [case] = pipeline.cases()
    assert case["status"] == "incomplete"
    assert case["facts"]["suspect_drugs"] == ["rivaroxaban"]
    assert "adverse_event" in case["facts"]["missing_elements"]
    assert "needs human review" in case["facts"]["summary"]
    [alert] = pipeline.alerts()
    assert "fake_user3" not in json.dumps(alert)


def test_a_spanish_post_is_read_by_the_rules_into_a_case_with_its_event(pipeline):
    """GIVEN a Spanish post about bruising on Xarelto WHEN the pipeline runs THEN the rules flag it
    and its case has the drug and the event, in English terms, with no review note for the language."""
    pipeline.push_post(
        {
            "id": "es-1",
            "text": "Desde que empecé con Xarelto me salen moretones por todo el cuerpo.",
            "author": "@fake_user3",
            "language": "es",
        }
    )

    pipeline.run()

    [screening] = pipeline.screenings()
    assert screening["is_ae"] is True and screening["flag_sources"] == ["rules"]
    [case] = pipeline.cases()
    assert (case["facts"]["suspect_drugs"], case["facts"]["events"]) == (["rivaroxaban"], ["bruising"])
    assert "adverse_event" not in case["facts"]["missing_elements"]
    assert "needs human review" not in case["facts"]["summary"]


def test_a_call_analytics_transcript_becomes_a_case_from_the_customers_words(pipeline):
    """GIVEN a Transcribe Call Analytics transcript WHEN the pipeline runs THEN only the customer's
    turns are screened and the case holds their drug and reaction."""
    transcript = [
        {"ParticipantRole": "AGENT", "Content": "Thank you for calling, how can I help?"},
        {"ParticipantRole": "CUSTOMER", "Content": "I vomited twice since I started the metformin."},
    ]
    pipeline.upload("call/analytics-0001.json", json.dumps({"Transcript": transcript}).encode())

    pipeline.run()

    [screening] = pipeline.screenings()
    assert screening["is_ae"] is True
    assert [f["text"] for f in screening["flagged"]] == ["I vomited twice since I started the metformin."]
    [case] = pipeline.cases()
    assert case["facts"]["suspect_drugs"] == ["metformin"]
    assert "vomiting" in case["facts"]["events"]


def test_a_report_only_in_an_attached_pdf_becomes_a_case_without_the_patients_name(pipeline):
    """GIVEN an email that only points to an attached PDF letter, and the letter reports the
    reaction WHEN the pipeline runs THEN the letter's sentence flags the document and the case
    holds its drug and event, while the patient's name in the letter stays out of the alert."""
    letter = text_pdf(
        "Patient: Walter Brennan, DOB 22/07/1961.",
        "Two days after his first Humira injection he developed a high fever.",
    )
    pipeline.upload("email/letter.eml", email_with_pdf(letter))

    pipeline.run()

    [screening] = pipeline.screenings()
    assert screening["is_ae"] is True
    assert any("Humira" in f["text"] for f in screening["flagged"])
    assert screening["unread_attachments"] == 0
    [case] = pipeline.cases()
    assert case["facts"]["suspect_drugs"] == ["adalimumab"]
    assert "fever" in case["facts"]["events"]
    [alert] = pipeline.alerts()
    assert "brennan" not in json.dumps(alert).lower() and "1961" not in json.dumps(alert)


def test_an_email_with_an_unreadable_attachment_records_it_as_unread(pipeline, capsys):
    """GIVEN a question by email with a broken PDF attached WHEN screened THEN the screening record
    counts one unread attachment, for a person to open, and the UnreadAttachments metric says so."""
    pipeline.upload(
        "email/broken.eml", email_with_pdf(b"%PDF-1.7 not really", body="Can I take it with food?")
    )

    pipeline.screen()

    [screening] = pipeline.screenings()
    assert (screening["status"], screening["unread_attachments"]) == ("screened", 1)
    emitted = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "UnreadAttachments" in line
    ]
    assert [m["UnreadAttachments"] for m in emitted] == [[1.0]]


def test_a_serious_case_is_due_in_15_days_and_a_non_serious_one_in_90(pipeline):
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)  # hospitalised overnight: serious
    pipeline.push_post({"id": "p-9", "text": "This cream gave me a mild rash, annoying.", "author": "@x"})

    pipeline.run()

    cases = _by_key(pipeline.cases())
    serious = cases["email/ae-lipitor.eml"]
    assert serious["facts"]["serious"] is True
    assert _days(serious) == 15
    mild = next(c for k, c in cases.items() if k.startswith("social/"))
    assert mild["facts"]["serious"] is False
    assert _days(mild) == 90


def _days(case):
    from datetime import date, datetime

    received = datetime.fromisoformat(case["received_at"]).date()
    return (date.fromisoformat(case["due_date"]) - received).days


def test_duplicate_delivery_creates_one_case_and_one_alert(pipeline):
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)
    pipeline.screen()
    # CaseQueue delivers the same request twice (SQS is at-least-once).
    message = pipeline.sqs.receive_message(QueueUrl=pipeline.r["case_queue"])["Messages"][0]
    pipeline.sqs.send_message(QueueUrl=pipeline.r["case_queue"], MessageBody=message["Body"])
    pipeline.sqs.change_message_visibility(
        QueueUrl=pipeline.r["case_queue"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )

    pipeline.open_cases()

    assert len(pipeline.cases()) == 1
    assert len(pipeline.alerts()) == 1


def test_a_reuploaded_identical_document_is_not_screened_or_cased_again_but_its_key_is_recorded(
    pipeline, endpoint
):
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)
    pipeline.run()
    calls = endpoint.calls

    pipeline.upload("email/ae-lipitor-again.eml", AE_EMAIL)
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)
    pipeline.run()

    assert endpoint.calls == calls
    (screening,) = pipeline.screenings()
    # The second key's terminal state, and the first key's second version's: duplicates of the
    # document screened under the first, each ref naming its version (the bucket is versioned).
    assert screening["source_key"] == "email/ae-lipitor.eml"
    # Each delivery by its key and object version: the other key, and the first key's new version.
    keys, _, versions = zip(
        *(ref.partition("?versionId=") for ref in screening["duplicate_keys"]), strict=True
    )
    assert keys == ("email/ae-lipitor-again.eml", "email/ae-lipitor.eml")
    assert all(versions) and versions[1] != screening["source_version"]
    assert len(pipeline.cases()) == 1
    assert len(pipeline.alerts()) == 1


def test_a_social_post_pushed_to_the_social_queue_is_screened_like_a_file(pipeline):
    pipeline.push_post({"id": "vendor-77", "text": "Took ibuprofen and my stomach started bleeding."})

    pipeline.run()

    (screening,) = pipeline.screenings()
    assert screening["is_ae"] is True and screening["channel"] == "social"
    assert len(pipeline.cases()) == 1


def test_a_review_under_a_products_page_becomes_a_case_of_that_product(pipeline):
    """GIVEN a post pushed with its product and a text that names no drug WHEN screened THEN the
    rules flag it and the case and alert name the product as the feed's suspect drug."""
    pipeline.push_post({"id": "rv-1", "text": "2 weeks on this and my muscles ache", "product": "Lipitor"})

    pipeline.run()

    [case] = pipeline.cases()
    assert case["facts"]["suspect_drugs"] == ["atorvastatin"]
    [alert] = pipeline.alerts()
    assert json.loads(alert["Message"])["drugs_from_feed"] == ["atorvastatin"]


def test_bad_input_is_quarantined_with_a_reason_and_never_fails_the_batch(pipeline):
    pipeline.upload("email/empty.eml", b"")
    pipeline.upload("call/binary.json", bytes(range(256)) * 4)
    pipeline.upload("call/huge.txt", b"Caller: " + b"word " * 20_000)
    pipeline.upload("call/broken.json", b'{"results": {"transcripts": [')
    pipeline.upload(
        "social/mixed.jsonl", b'{"id": "ok-1", "text": "I got hives from penicillin"}\n{not json}\n'
    )
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)

    responses = pipeline.screen()

    assert all(r["batchItemFailures"] == [] for r in responses)
    screenings = _by_key(pipeline.screenings())
    reasons = {k: s.get("quarantine_reason") for k, s in screenings.items() if s["status"] == "quarantined"}
    assert reasons["email/empty.eml"] == "empty"
    assert reasons["call/binary.json"] == "binary"
    assert reasons["call/huge.txt"] == "too_large"
    assert reasons["call/broken.json"].startswith("malformed")
    assert reasons["social/mixed.jsonl#line-2"].startswith("malformed")
    assert screenings["social/mixed.jsonl#ok-1"]["is_ae"] is True
    assert screenings["email/ae-lipitor.eml"]["is_ae"] is True
    assert pipeline.queue_depth("intake_queue") == 0


def test_a_malformed_social_message_is_quarantined_not_retried(pipeline):
    pipeline.push_post("{this is not json")

    responses = pipeline.screen()

    assert responses[0]["batchItemFailures"] == []
    (screening,) = pipeline.screenings()
    assert screening["status"] == "quarantined"
    assert screening["quarantine_reason"].startswith("malformed")


def test_endpoint_throttling_then_success_screens_every_document(pipeline, endpoint):
    endpoint.faults.append(endpoint_double.Fault(status=429, code="ThrottlingException"))
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)

    responses = pipeline.screen()

    assert responses[0]["batchItemFailures"] == []
    assert pipeline.screenings()[0]["is_ae"] is True


def test_endpoint_down_fails_only_the_messages_that_needed_it(pipeline, endpoint):
    endpoint.always = endpoint_double.Fault(status=503)
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)
    pipeline.upload("email/empty.eml", b"")

    responses = pipeline.screen()

    failed = [f for r in responses for f in r["batchItemFailures"]]
    assert len(failed) == 1
    screenings = _by_key(pipeline.screenings())
    assert list(screenings) == ["email/empty.eml"]  # the failed document has no record yet
    assert pipeline.queue_depth("intake_queue") == 1  # it went back to the queue

    endpoint.always = None
    pipeline.run()
    assert _by_key(pipeline.screenings())["email/ae-lipitor.eml"]["is_ae"] is True
    assert len(pipeline.alerts()) == 1


def test_an_object_deleted_before_it_is_read_is_quarantined_as_missing(pipeline):
    """The object's version is deleted for good (a delete marker leaves the version readable:
    tests/test_versions.py)."""
    pipeline.upload("email/gone.eml", QUESTION_EMAIL)
    bucket = pipeline.r["bucket"]
    (version,) = pipeline.s3.list_object_versions(Bucket=bucket, Prefix="email/gone.eml")["Versions"]
    pipeline.s3.delete_object(Bucket=bucket, Key="email/gone.eml", VersionId=version["VersionId"])

    responses = pipeline.screen()

    assert responses[0]["batchItemFailures"] == []
    (screening,) = pipeline.screenings()
    assert screening["quarantine_reason"] == "object_missing"


def test_alerts_carry_no_personal_data(pipeline):
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)

    pipeline.run()

    (alert,) = pipeline.alerts()
    published = json.dumps(alert)
    for personal in ("Jane", "Example", "07700 900123", "jane.example@example.org"):
        assert personal not in published


def test_two_identical_files_in_one_batch_are_screened_once_and_both_keys_recorded(pipeline, endpoint):
    pipeline.upload("email/one.eml", AE_EMAIL)
    pipeline.upload("email/two.eml", AE_EMAIL)

    pipeline.run()

    (screening,) = pipeline.screenings()
    duplicates = [ref.partition("?versionId=")[0] for ref in screening["duplicate_keys"]]
    assert {screening["source_key"], *duplicates} == {"email/one.eml", "email/two.eml"}
    assert len(pipeline.cases()) == 1
    assert len(pipeline.alerts()) == 1


def test_patient_wording_the_classifier_scores_low_is_still_flagged_by_the_rules(pipeline):
    """The endpoint double knows no 'diarrhoea'; the case-intelligence rules do, and say so."""
    text = "Since I started metformin I get terrible diarrhoea every day."
    pipeline.push_post({"id": "lay-1", "text": text})

    pipeline.run()

    (screening,) = pipeline.screenings()
    assert screening["is_ae"] is True
    assert screening["flag_sources"] == ["rules"]
    assert [(f["text"], f["label"]) for f in screening["flagged"]] == [(text, "Not_AE")]
    (case,) = pipeline.cases()
    assert case["facts"]["suspect_drugs"] == ["metformin"] and case["facts"]["events"] == ["diarrhoea"]


def test_the_rules_do_not_flag_an_indication_or_a_denied_reaction(pipeline):
    pipeline.push_post({"id": "q-1", "text": "I take metformin for my diabetes. Should I take it with food?"})
    pipeline.push_post({"id": "q-2", "text": "On sertraline for a month now and no diarrhoea at all, great."})

    pipeline.run()

    assert {s["is_ae"] for s in pipeline.screenings()} == {False}
    assert pipeline.cases() == []


def test_a_classifier_flag_is_recorded_as_the_classifiers(pipeline):
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)

    pipeline.screen()

    (screening,) = pipeline.screenings()
    assert screening["flag_sources"] == ["classifier"]


def _indexed_by_batch(monkeypatch) -> list[str]:
    """The case ids CaseFunction indexes by a batch write of its own (MatchKeyTable.add), recorded."""
    from pv.adapters.regulatory import MatchKeyTable

    added: list[str] = []
    add = MatchKeyTable.add

    def recorded(self, case_id, keys):
        added.append(case_id)
        return add(self, case_id, keys)

    monkeypatch.setattr(MatchKeyTable, "add", recorded)
    return added


def _match_keys(pipeline) -> dict[str, set[str]]:
    items = pipeline.dynamodb.Table(pipeline.r["match_keys_table"]).scan()["Items"]
    found: dict[str, set[str]] = {}
    for item in items:
        found.setdefault(item["case_id"], set()).add(item["match_key"])
    return found


def test_a_new_case_is_indexed_by_its_match_keys_in_its_own_write(pipeline, monkeypatch):
    """GIVEN a flagged email WHEN its case is opened THEN the case is findable under every match key
    of its regulatory record, written in the case's own transaction (no second write for them)."""
    added = _indexed_by_batch(monkeypatch)
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)
    pipeline.run()

    [case] = pipeline.cases()
    keys = set(case["regulatory"]["match_keys"])
    assert keys and _match_keys(pipeline) == {case["case_id"]: keys}
    assert added == []


def test_match_keys_that_do_not_fit_the_cases_write_are_indexed_after_it(pipeline, monkeypatch):
    """GIVEN no room beside a case in its transaction WHEN the case is opened THEN its match keys are
    written after it, and it is findable under all of them all the same."""
    import pv.cases

    monkeypatch.setattr(pv.cases, "MAX_WRITTEN_WITH_CASE", 0)
    added = _indexed_by_batch(monkeypatch)
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)
    pipeline.run()

    [case] = pipeline.cases()
    assert _match_keys(pipeline) == {case["case_id"]: set(case["regulatory"]["match_keys"])}
    assert added == [case["case_id"]]


def test_a_redelivery_after_its_idempotency_record_expired_indexes_the_stored_case_again(
    pipeline, monkeypatch
):
    """GIVEN a case opened and alerted, its idempotency record gone (expired) and its match keys
    lost WHEN its request is delivered again THEN the stored case is indexed again under its keys,
    not written again, and nobody is alerted twice."""
    pipeline.upload("email/ae-lipitor.eml", AE_EMAIL)
    pipeline.screen()
    message = pipeline.sqs.receive_message(QueueUrl=pipeline.r["case_queue"])["Messages"][0]
    pipeline.sqs.change_message_visibility(
        QueueUrl=pipeline.r["case_queue"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    pipeline.open_cases()
    [case] = pipeline.cases()
    assert len(pipeline.alerts()) == 1
    for table in ("idempotency_table", "match_keys_table"):
        resource = pipeline.dynamodb.Table(pipeline.r[table])
        names = [k["AttributeName"] for k in resource.key_schema]
        for item in resource.scan()["Items"]:
            resource.delete_item(Key={n: item[n] for n in names})
    added = _indexed_by_batch(monkeypatch)

    pipeline.sqs.send_message(QueueUrl=pipeline.r["case_queue"], MessageBody=message["Body"])
    pipeline.open_cases()

    assert added == [case["case_id"]]
    assert _match_keys(pipeline) == {case["case_id"]: set(case["regulatory"]["match_keys"])}
    assert pipeline.cases() == [case]
    assert pipeline.alerts() == []

"""Object versions (issue 15, finding 1): the intake bucket is versioned, and ScreenFunction reads
the version each S3 notification names, whatever is current when it gets there.

moto's notifications carry `versionId` as S3's do (`pv_local.s3_events`, which the local stack
installs too).
"""

from __future__ import annotations

import json

import pytest
from pv.models import document_id_for
from test_pipeline import AE_EMAIL, QUESTION_EMAIL

KEY = "email/report.eml"


@pytest.fixture
def versioned(pipeline):
    """The pipeline: the template's intake bucket is versioned, and the tests' stack installs
    `s3_events`."""
    assert pipeline.s3.get_bucket_versioning(Bucket=pipeline.r["bucket"])["Status"] == "Enabled"
    return pipeline


def _versions(pipeline, key: str) -> list[str]:
    """The key's object versions, oldest first."""
    listing = pipeline.s3.list_object_versions(Bucket=pipeline.r["bucket"], Prefix=key)
    return [v["VersionId"] for v in reversed(listing.get("Versions", []))]  # S3 lists newest first


def _by_document(pipeline) -> dict[str, dict]:
    return {s["document_id"]: s for s in pipeline.screenings()}


def test_a_notification_names_the_version_it_is_about(versioned):
    """GIVEN a versioned bucket WHEN an object is put THEN its notification names its version."""
    versioned.upload(KEY, AE_EMAIL)

    (message,) = versioned.sqs.receive_message(QueueUrl=versioned.r["intake_queue"])["Messages"]

    (record,) = json.loads(message["Body"])["Records"]
    assert record["s3"]["object"]["versionId"] == _versions(versioned, KEY)[0]
    assert record["s3"]["object"]["sequencer"]


def test_an_overwrite_before_screening_screens_both_versions_and_cases_the_adverse_event(versioned):
    """GIVEN an AE email and then a question put under the same key before either is screened
    WHEN the queues drain THEN each version has its screening, and the AE opens one case and one
    alert."""
    versioned.upload(KEY, AE_EMAIL)
    versioned.upload(KEY, QUESTION_EMAIL)
    first, second = _versions(versioned, KEY)

    versioned.run()

    screenings = _by_document(versioned)
    ae, question = screenings[document_id_for(AE_EMAIL)], screenings[document_id_for(QUESTION_EMAIL)]
    assert (ae["source_version"], ae["is_ae"]) == (first, True)
    assert (question["source_version"], question["is_ae"]) == (second, False)
    assert [c["document_id"] for c in versioned.cases()] == [document_id_for(AE_EMAIL)]
    assert len(versioned.alerts()) == 1


def test_a_retry_reads_the_version_it_was_notified_of_not_the_current_one(versioned, endpoint):
    """GIVEN the AE version's screening fails on the endpoint and the key is overwritten before the
    retry WHEN the message is retried THEN the retry screens the AE version."""
    endpoint.always = endpoint_fault()
    versioned.upload(KEY, AE_EMAIL)
    versioned.screen()
    assert versioned.screenings() == []
    versioned.upload(KEY, QUESTION_EMAIL)
    endpoint.always = None

    versioned.run()

    screenings = _by_document(versioned)
    assert set(screenings) == {document_id_for(AE_EMAIL), document_id_for(QUESTION_EMAIL)}
    assert screenings[document_id_for(AE_EMAIL)]["is_ae"] is True
    assert len(versioned.cases()) == 1


def test_a_delete_marker_does_not_make_a_notified_version_missing(versioned):
    """GIVEN an object deleted (a delete marker on a versioned bucket) before it is screened WHEN
    screened THEN the version the notification names is still read and screened."""
    versioned.upload(KEY, AE_EMAIL)
    versioned.s3.delete_object(Bucket=versioned.r["bucket"], Key=KEY)

    versioned.run()

    (screening,) = versioned.screenings()
    assert (screening["status"], screening["is_ae"]) == ("screened", True)
    assert len(versioned.cases()) == 1


def test_a_version_deleted_for_good_is_quarantined_under_its_own_version(versioned):
    """GIVEN two versions of a key, both permanently deleted before screening WHEN screened THEN
    each version gets its own object_missing record."""
    versioned.upload(KEY, AE_EMAIL)
    versioned.upload(KEY, QUESTION_EMAIL)
    for version in _versions(versioned, KEY):
        versioned.s3.delete_object(Bucket=versioned.r["bucket"], Key=KEY, VersionId=version)

    versioned.run()

    records = versioned.screenings()
    assert sorted((r["quarantine_reason"], r["source_key"]) for r in records) == [
        ("object_missing", KEY),
        ("object_missing", KEY),
    ]
    assert len({r["source_version"] for r in records}) == 2


def test_the_same_bytes_put_again_as_a_new_version_are_a_duplicate_of_the_first(versioned, endpoint):
    """GIVEN the same email put twice under one key WHEN both are screened THEN one screening of
    the first version, the second noted once as a duplicate by its version, one case."""
    versioned.upload(KEY, AE_EMAIL)
    versioned.run()
    calls = endpoint.calls
    versioned.upload(KEY, AE_EMAIL)

    versioned.run()

    first, second = _versions(versioned, KEY)
    (screening,) = versioned.screenings()
    assert screening["source_version"] == first
    assert screening["duplicate_keys"] == [f"{KEY}?versionId={second}"]
    assert endpoint.calls == calls
    assert len(versioned.cases()) == 1


def endpoint_fault():
    import endpoint_double

    return endpoint_double.Fault(status=500)

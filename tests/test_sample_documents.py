"""The sample documents and Lambda events in events/: all parse, and MANIFEST.json describes them."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pv.channels import parse_object, parse_social_message
from pv.intelligence import adverse_event_sentences
from pv.models import CaseRequest, Quarantined, SourceDocument

EVENTS = Path(__file__).parent.parent / "events"
DOCUMENTS = EVENTS / "documents"
MANIFEST = json.loads((DOCUMENTS / "MANIFEST.json").read_text(encoding="utf-8"))["documents"]
LANDED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _sample_keys() -> list[str]:
    return sorted(
        p.relative_to(DOCUMENTS).as_posix()
        for p in DOCUMENTS.rglob("*")
        if p.is_file() and p.parent != DOCUMENTS
    )


def _expected(key: str) -> dict[str, dict]:
    """Expected outcome per source key (one for a whole file, one per post of a social file)."""
    entry = MANIFEST[key]
    return entry.get("posts", {key: entry})


def _everything(doc: SourceDocument) -> str:
    return "\n".join([*(u.text for u in doc.units), *doc.metadata.values()])


def test_the_manifest_lists_every_sample_file_and_nothing_else():
    assert sorted(MANIFEST) == _sample_keys()


def test_there_are_enough_samples_of_each_kind():
    kinds = Counter(Path(key).parent.name + Path(key).suffix for key in _sample_keys())
    assert kinds["email.eml"] >= 6
    assert kinds["call.json"] >= 3
    assert kinds["call.txt"] >= 3
    posts = [
        post for key in MANIFEST if key.startswith("social/") for post in MANIFEST[key]["posts"].values()
    ]
    assert len([p for p in posts if "is_ae" in p]) >= 5
    for channel in ("email", "call", "social"):
        flags = {
            e["is_ae"]
            for key in MANIFEST
            if key.startswith(channel)
            for e in _expected(key).values()
            if "is_ae" in e
        }
        assert flags == {True, False}, channel


@pytest.mark.parametrize("key", sorted(MANIFEST))
def test_each_sample_parses_to_its_expected_outcome(key):
    results = parse_object(key, (DOCUMENTS / key).read_bytes(), LANDED, 5 * 1024 * 1024)
    expected = _expected(key)
    assert [r.source_key for r in results] == list(expected)
    for result in results:
        entry = expected[result.source_key]
        if "quarantine_reason" in entry:
            assert isinstance(result, Quarantined)
            assert result.reason == entry["quarantine_reason"]
            continue
        assert isinstance(result, SourceDocument)
        assert result.text.strip()
        text = _everything(result)
        missing = [value for value in entry["personal_data"] if value not in text]
        assert missing == [], "personal data listed in MANIFEST but not in the parsed document"


def _samples(is_ae: bool) -> list[tuple[str, str]]:
    """(file key, source key) of the samples whose MANIFEST entry has this `is_ae`."""
    return sorted(
        (key, source_key)
        for key in MANIFEST
        for source_key, entry in _expected(key).items()
        if entry.get("is_ae") is is_ae
    )


def _sample_document(key: str, source_key: str) -> SourceDocument:
    results = parse_object(key, (DOCUMENTS / key).read_bytes(), LANDED, 5 * 1024 * 1024)
    [document] = [r for r in results if r.source_key == source_key]
    assert isinstance(document, SourceDocument)
    return document


@pytest.mark.parametrize(("key", "source_key"), _samples(is_ae=False))
def test_the_rules_find_no_adverse_event_sentence_in_a_sample_without_an_ae(key, source_key):
    """GIVEN a sample the MANIFEST says reports no AE (a question, denied symptoms, a drug that
    "isn't doing much" for a bad back) WHEN screening's rules read it THEN no sentence is an AE."""
    assert adverse_event_sentences(_sample_document(key, source_key)) == []


@pytest.mark.parametrize(("key", "source_key"), _samples(is_ae=True))
def test_the_rules_flag_every_sample_that_reports_an_ae(key, source_key):
    """GIVEN a sample the MANIFEST says reports an AE (also a callback where only the agent names
    the drug, and a Spanish post) WHEN screening's rules read it THEN they flag it, whatever the
    classifier scores."""
    assert adverse_event_sentences(_sample_document(key, source_key))


def test_the_s3_notification_event_names_a_sample_with_its_size_and_etag():
    [record] = json.loads((EVENTS / "s3-notification-in-sqs.json").read_text())["Records"]
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    [s3] = json.loads(record["body"])["Records"]
    data = (DOCUMENTS / s3["s3"]["object"]["key"]).read_bytes()
    assert s3["eventName"] == "ObjectCreated:Put"
    assert (s3["s3"]["object"]["size"], s3["s3"]["object"]["eTag"]) == (
        len(data),
        hashlib.md5(data).hexdigest(),
    )


def test_the_s3_test_event_has_no_records():
    [record] = json.loads((EVENTS / "s3-test-event-in-sqs.json").read_text())["Records"]
    body = json.loads(record["body"])
    assert body["Event"] == "s3:TestEvent"
    assert "Records" not in body


def test_the_social_post_message_parses_into_a_post():
    [record] = json.loads((EVENTS / "social-post-message.json").read_text(encoding="utf-8"))["Records"]
    doc = parse_social_message(record["body"], LANDED)
    assert isinstance(doc, SourceDocument)
    assert doc.source_key == "social/queue#1899001122334"
    assert record["eventSourceARN"].endswith("SocialQueue")


def test_the_case_message_is_a_case_request_for_a_sample_document():
    [record] = json.loads((EVENTS / "case-message.json").read_text())["Records"]
    request = CaseRequest.model_validate_json(record["body"])
    assert request.document_id == hashlib.sha256((DOCUMENTS / request.source_key).read_bytes()).hexdigest()
    assert MANIFEST[request.source_key]["is_ae"] is True
    assert request.max_score == max(s.score for s in request.flagged)

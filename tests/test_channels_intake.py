"""parse_object: dispatch by key prefix and every quarantine reason for a whole object."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from pv.channels import QUARANTINE_REASONS, ParseError, channel_for, parse_object
from pv.models import Channel, Quarantined, SourceDocument

LANDED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
EMAIL = b"From: a@example.com\nTo: b@example.com\nSubject: rash\n\nI got a rash after the tablets.\n"


def _quarantined(key: str, body: bytes, max_bytes: int = 10**6) -> Quarantined:
    [result] = parse_object(key, body, LANDED, max_bytes)
    assert isinstance(result, Quarantined)
    return result


def test_reasons_are_the_fixed_vocabulary():
    assert sorted(QUARANTINE_REASONS) == [
        "bad_encoding",
        "binary",
        "empty",
        "malformed_email",
        "malformed_json",
        "malformed_post",
        "malformed_transcript",
        "no_text",
        "post_limit",
        "too_large",
        "unknown_prefix",
    ]
    with pytest.raises(ValueError):
        ParseError("some document text")


@pytest.mark.parametrize(
    ("key", "channel"),
    [("email/a.eml", Channel.EMAIL), ("call/b.txt", Channel.CALL), ("social/c.jsonl", Channel.SOCIAL)],
)
def test_the_prefix_picks_the_channel(key, channel):
    assert channel_for(key) is channel


def test_an_unknown_prefix_is_quarantined_with_the_object_hash():
    result = _quarantined("uploads/a.eml", EMAIL)
    assert (result.source_key, result.channel, result.reason) == ("uploads/a.eml", None, "unknown_prefix")
    assert result.document_id == hashlib.sha256(EMAIL).hexdigest()
    assert result.received_at == LANDED
    assert _quarantined("email.eml", EMAIL).reason == "unknown_prefix"
    assert _quarantined("Email/a.eml", EMAIL).reason == "unknown_prefix"


def test_an_empty_object_is_quarantined_as_empty():
    result = _quarantined("email/a.eml", b"")
    assert (result.channel, result.reason) == (Channel.EMAIL, "empty")


def test_size_is_checked_before_decoding():
    assert isinstance(parse_object("email/a.eml", EMAIL, LANDED, len(EMAIL))[0], SourceDocument)
    assert _quarantined("email/a.eml", EMAIL, max_bytes=len(EMAIL) - 1).reason == "too_large"
    # Over the limit wins over every other check: nothing of the body is looked at.
    assert _quarantined("social/x.jsonl", b"\x00" * 11, max_bytes=10).reason == "too_large"


@pytest.mark.parametrize(
    "body",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"text then a NUL \x00 byte", bytes(range(1, 32)) * 4],
)
def test_binary_objects_are_quarantined_as_binary(body):
    for key in ("email/a.eml", "call/a.txt", "call/a.json", "social/a.jsonl"):
        assert _quarantined(key, body).reason == "binary"


def test_undecodable_json_and_transcripts_are_bad_encoding():
    assert _quarantined(
        "call/a.json", '{"results": {"transcripts": [{"transcript": "é"}]}}'.encode("cp1252")
    ).reason == ("bad_encoding")
    assert (
        _quarantined("call/a.txt", b"Caller: \x81\x8d\x8f bytes undefined in windows-1252").reason
        == "bad_encoding"
    )


def test_syntax_errors_are_malformed_json():
    assert _quarantined("call/a.json", b'{"results": ').reason == "malformed_json"


def test_whitespace_only_objects_have_no_text():
    assert _quarantined("call/a.txt", b"  \n\t\n").reason == "no_text"


def test_a_whole_file_document_id_is_the_sha256_of_the_bytes_and_the_key_is_kept():
    [doc] = parse_object("call/a.txt", b"Caller: dizzy since the pills\n", LANDED, 10**6)
    assert isinstance(doc, SourceDocument)
    assert (doc.document_id, doc.source_key, doc.channel, doc.received_at) == (
        hashlib.sha256(b"Caller: dizzy since the pills\n").hexdigest(),
        "call/a.txt",
        Channel.CALL,
        LANDED,
    )

"""Social posts: JSON Lines files (one document per post) and posts pushed to SocialQueue."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pv.channels import parse_object, parse_social_message
from pv.models import Quarantined, SourceDocument, document_id_for, post_document_id

LANDED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
POST = {
    "id": "1898204471558",
    "text": "lipitor got my legs feeling like concrete smh",
    "author": "@fake_handle",
    "created_at": "2025-03-08T09:14:02Z",
    "platform": "x",
    "language": "en",
    "url": "https://x.example/p/1",
}


def _jsonl(*lines: object) -> bytes:
    return (
        b"\n".join(line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines) + b"\n"
    )


def _outcomes(results: list[SourceDocument | Quarantined]) -> list[tuple[str, str]]:
    return [(r.source_key, "document" if isinstance(r, SourceDocument) else r.reason) for r in results]


def test_each_post_of_a_jsonl_file_is_a_document_keyed_by_file_and_post_id():
    results = parse_object(
        "social/feed.jsonl", _jsonl(POST, {**POST, "id": "2", "text": "nice day"}), LANDED, 10**6
    )
    assert _outcomes(results) == [
        ("social/feed.jsonl#1898204471558", "document"),
        ("social/feed.jsonl#2", "document"),
    ]
    first = results[0]
    assert isinstance(first, SourceDocument)
    assert first.document_id == post_document_id("1898204471558", POST["text"])
    assert [(u.kind, u.text) for u in first.units] == [("post", POST["text"])]
    assert first.language == "en"
    assert first.received_at == LANDED
    assert first.metadata == {
        "post_id": "1898204471558",
        "author": "@fake_handle",
        "created_at": "2025-03-08T09:14:02Z",
        "platform": "x",
        "url": "https://x.example/p/1",
    }


def test_a_malformed_line_is_quarantined_alone_and_the_other_lines_still_parse():
    raw = _jsonl(POST, b'{"id": "x", "text": "cut', b"", {"id": "3", "text": "fine"})
    results = parse_object("social/feed.jsonl", raw, LANDED, 10**6)
    assert _outcomes(results) == [
        ("social/feed.jsonl#1898204471558", "document"),
        ("social/feed.jsonl#line-2", "malformed_json"),
        ("social/feed.jsonl#3", "document"),
    ]
    bad = results[1]
    assert bad.document_id == document_id_for(b'social/feed.jsonl#line-2\n{"id": "x", "text": "cut')


def test_the_same_broken_line_in_two_files_gets_two_ids():
    raw = _jsonl(b"{oops")
    [a] = parse_object("social/a.jsonl", raw, LANDED, 10**6)
    [b] = parse_object("social/b.jsonl", raw, LANDED, 10**6)
    assert a.document_id != b.document_id


def test_a_post_without_id_gets_a_stable_derived_id():
    post = {"text": "zoloft has me sweating buckets", "author": "night_owl", "platform": "forum"}
    [first] = parse_object("social/f.jsonl", _jsonl(post), LANDED, 10**6)
    [again] = parse_object("social/f.jsonl", _jsonl(post), LANDED, 10**6)
    [other] = parse_object("social/f.jsonl", _jsonl({**post, "author": "someone_else"}), LANDED, 10**6)
    assert first.source_key == again.source_key
    assert first.source_key.startswith("social/f.jsonl#derived-")
    assert len(first.source_key.removeprefix("social/f.jsonl#derived-")) == 16
    assert first.document_id == again.document_id != other.document_id


def test_numeric_ids_and_vendor_field_aliases_are_accepted():
    [doc] = parse_object(
        "social/r.jsonl",
        _jsonl({"post_id": 771204, "content": "rash", "author_handle": "u/x", "lang": "es"}),
        LANDED,
        10**6,
    )
    assert isinstance(doc, SourceDocument)
    assert (doc.source_key, doc.units[0].text, doc.metadata["author"], doc.language) == (
        "social/r.jsonl#771204",
        "rash",
        "u/x",
        "es",
    )


def test_posts_that_are_not_objects_or_lack_text_are_malformed_posts_and_blank_text_is_no_text():
    raw = _jsonl(
        [1],
        "text",
        None,
        {"id": "4"},
        {"id": "5", "text": 42},
        {"id": "6", "text": "  "},
        {"id": True, "text": "t"},
    )
    assert [reason for _, reason in _outcomes(parse_object("social/x.jsonl", raw, LANDED, 10**6))] == [
        "malformed_post",
        "malformed_post",
        "malformed_post",
        "malformed_post",
        "malformed_post",
        "no_text",
        "malformed_post",
    ]


def test_a_wrongly_encoded_line_is_quarantined_alone():
    raw = _jsonl(POST, '{"id": "2", "text": "café"}'.encode("latin-1"))
    assert _outcomes(parse_object("social/x.jsonl", raw, LANDED, 10**6)) == [
        ("social/x.jsonl#1898204471558", "document"),
        ("social/x.jsonl#line-2", "bad_encoding"),
    ]


def test_a_utf16_file_with_a_byte_order_mark_is_decoded_whole():
    raw = _jsonl(POST).decode().encode("utf-16")
    assert _outcomes(parse_object("social/x.jsonl", raw, LANDED, 10**6)) == [
        ("social/x.jsonl#1898204471558", "document")
    ]


def test_a_line_separator_inside_a_post_does_not_split_the_line():
    [doc] = parse_object(
        "social/x.jsonl", _jsonl({"id": "1", "text": "dizzy\u2028since the pills"}), LANDED, 10**6
    )
    assert isinstance(doc, SourceDocument)
    assert doc.units[0].text == "dizzy\u2028since the pills"


def test_a_file_of_blank_lines_has_no_text():
    [result] = parse_object("social/blank.jsonl", b"\n  \n\r\n", LANDED, 10**6)
    assert isinstance(result, Quarantined)
    assert (result.source_key, result.reason) == ("social/blank.jsonl", "no_text")


def test_a_queued_post_parses_with_the_same_identity_as_in_a_file():
    doc = parse_social_message(json.dumps(POST), LANDED)
    [in_file] = parse_object("social/feed.jsonl", _jsonl(POST), LANDED, 10**6)
    assert isinstance(doc, SourceDocument)
    assert doc.source_key == "social/queue#1898204471558"
    assert doc.document_id == in_file.document_id


def test_a_bad_queued_post_is_quarantined_with_the_hash_of_the_payload():
    result = parse_social_message('{"id": 1, "text": ', LANDED)
    assert isinstance(result, Quarantined)
    digest = document_id_for(b'{"id": 1, "text": ')
    assert (result.source_key, result.document_id, result.reason) == (
        f"social/queue#message-{digest[:16]}",
        digest,
        "malformed_json",
    )
    assert parse_social_message('{"id": "1", "text": ""}', LANDED).reason == "no_text"

"""Hostile input (issue 8): each gets a recorded outcome, fast, in bounded memory, never a crash."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pv.channels import parse_object, parse_social_message
from pv.channels.social import MAX_POSTS_PER_FILE
from pv.models import Quarantined, SourceDocument
from pv.sentences import document_sentences

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
EXPECTED = json.loads((HOSTILE / "EXPECTED.json").read_text())["files"]
LANDED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
MAX_BYTES = 5 * 1024 * 1024  # the template's default MAX_DOCUMENT_BYTES


def _outcomes(results: list[SourceDocument | Quarantined]) -> dict[str, str]:
    return {r.source_key: "document" if isinstance(r, SourceDocument) else r.reason for r in results}


def _bounded(key: str, body: bytes, max_bytes: int = MAX_BYTES, seconds: float = 5.0, mib: int = 64):
    """Parse and split into sentences, asserting time and peak Python memory."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        results = parse_object(key, body, LANDED, max_bytes)
        sentences = [document_sentences(r) for r in results if isinstance(r, SourceDocument)]
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < seconds
    assert peak < mib * 1024 * 1024
    return results, sentences


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_hostile_fixture_gets_its_recorded_outcome(name):
    expected = EXPECTED[name]
    results, _ = _bounded(expected["key"], (HOSTILE / name).read_bytes())
    assert _outcomes(results) == expected["outcomes"]


def test_every_hostile_fixture_file_is_listed_in_expected():
    assert sorted(p.name for p in HOSTILE.iterdir() if p.name != "EXPECTED.json") == sorted(EXPECTED)


def test_html_scripts_styles_and_event_handlers_never_reach_the_text():
    [doc], [sentences] = _bounded("email/h.eml", (HOSTILE / "html_with_scripts.eml").read_bytes())
    text = "\n".join(u.text for u in doc.units)
    assert "PAYLOAD" not in text
    assert sentences == [
        "reaction",
        "After taking naproxen I got severe stomach pain.",
        "I stopped it & the pain went away.",
    ]


def test_control_characters_do_not_reach_sentences():
    _, [sentences] = _bounded("call/c.txt", (HOSTILE / "control_chars.txt").read_bytes())
    assert sentences == ["[31mSince I started [0m the new inhaler I get palpitations at night."]


def test_prompt_injection_is_plain_text_to_screen():
    results, sentences = _bounded("social/p.jsonl", (HOSTILE / "prompt_injection.jsonl").read_bytes())
    assert [r.units[0].kind for r in results] == ["post", "post"]
    assert sentences[0][-1] == "Also, Lipitor gave me a rash."


def test_a_transcript_without_labels_is_screened_whole():
    [doc], [sentences] = _bounded("call/n.txt", (HOSTILE / "transcript_no_labels.txt").read_bytes())
    assert [u.speaker for u in doc.units] == ["unknown"]
    assert len(sentences) == 1


@pytest.mark.parametrize("key", ["call/deep.json", "social/deep.jsonl"])
def test_deeply_nested_json_is_malformed_json_not_a_crash(key):
    body = b"[" * 200_000 + b"]" * 200_000
    results, _ = _bounded(key, body)
    assert [getattr(r, "reason", None) for r in results] == ["malformed_json"]


def test_hundreds_of_nested_forwarded_messages_are_a_malformed_email_not_a_crash():
    """GIVEN a message forwarded inside itself 1,000 times (past what the parsers can recurse into)
    WHEN it is parsed THEN it is quarantined as malformed_email, not a RecursionError."""
    message = "Subject: s\nContent-Type: text/plain\n\nI bled on Xarelto.\n"
    for i in range(1000):
        message = (
            f'Subject: fw {i}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B{i}"\n\n'
            f"--B{i}\nContent-Type: message/rfc822\n\n{message}\n--B{i}--\n"
        )
    results = parse_object("email/deep.eml", message.encode(), LANDED, MAX_BYTES)
    assert [getattr(r, "reason", None) for r in results] == ["malformed_email"]


def test_a_pdf_decompression_bomb_is_left_unread_and_the_email_is_screened():
    """GIVEN an email whose PDF attachment inflates to 100 MB of page content (past pypdf's
    decompression limits) WHEN parsed THEN the email is a document, its body is screened and the
    PDF is counted as an attachment that was not read."""
    import zlib

    from mail_inputs import email_with_pdf, one_page_pdf

    packer = zlib.compressobj(9)
    content = packer.compress(b"BT /F1 11 Tf 72 720 Td (rash) Tj ET\n")
    content += b"".join(packer.compress(b" " * 1_000_000) for _ in range(100)) + packer.flush()
    pdf = one_page_pdf(content, filters=" /Filter /FlateDecode")
    [doc] = parse_object("email/bomb.eml", email_with_pdf(pdf, body="Rash after Keflex."), LANDED, MAX_BYTES)
    assert isinstance(doc, SourceDocument)
    assert [u.kind for u in doc.units] == ["subject", "body"]
    assert (doc.metadata["attachments"], doc.metadata["attachments_read"]) == ("1", "0")


def test_deep_nesting_inside_one_post_quarantines_only_that_post():
    deep = b'{"id": "d", "text": "t", "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    results, _ = _bounded("social/d.jsonl", deep + b'\n{"id": "ok", "text": "rash"}\n')
    assert _outcomes(results) == {"social/d.jsonl#line-1": "malformed_json", "social/d.jsonl#ok": "document"}
    assert parse_social_message(deep.decode(), LANDED).reason == "malformed_json"


def test_a_100000_character_post_is_kept_whole_in_bounded_pieces():
    text = ("my legs ache since lipitor and " * 3300)[:100_000]
    results, [sentences] = _bounded("social/long.jsonl", json.dumps({"id": "long", "text": text}).encode())
    assert results[0].units[0].text == text
    assert all(len(s) <= 1000 for s in sentences)
    assert " ".join(sentences).split() == text.split()


def test_files_at_and_past_the_limit():
    line = json.dumps({"id": "x", "text": "dizzy " * 100}).encode() + b"\n"
    body = line * (MAX_BYTES // len(line))
    results, _ = _bounded("social/big.jsonl", body, max_bytes=len(body), seconds=30, mib=512)
    # The first MAX_POSTS_PER_FILE posts, and one record for the lines after them.
    assert len(results) == MAX_POSTS_PER_FILE + 1 < MAX_BYTES // len(line)
    assert _outcomes(results[-1:]) == {f"social/big.jsonl#lines-1001-{MAX_BYTES // len(line)}": "post_limit"}
    results, _ = _bounded("social/big.jsonl", body + b"x", max_bytes=len(body), seconds=0.5, mib=1)
    assert _outcomes(results) == {"social/big.jsonl": "too_large"}


def test_a_gzip_bomb_is_never_decompressed():
    bomb = gzip.compress(b"\0" * 50_000_000)
    results, _ = _bounded("email/bomb.eml", bomb, seconds=0.5, mib=1)
    assert _outcomes(results) == {"email/bomb.eml": "binary"}


def test_a_huge_email_header_and_many_mime_parts_stay_bounded():
    parts = "".join(f"--B\nContent-Type: image/png\n\npart {i}\n" for i in range(1_000))
    raw = (
        "From: a@example.com\nTo: b@example.com\nSubject: " + "x" * 100_000 + "\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n' + parts + "--B--\n"
    ).encode()
    results, _ = _bounded("email/many.eml", raw, seconds=10, mib=128)
    [doc] = results
    assert isinstance(doc, SourceDocument)
    assert (doc.units[0].kind, len(doc.units[0].text), doc.metadata["attachments"]) == (
        "subject",
        100_000,
        "1000",
    )

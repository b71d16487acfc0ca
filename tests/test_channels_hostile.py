"""Hostile input (issue 8): each gets a recorded outcome, in bounded memory and CPU (against a
calibration of ordinary input in the same run), never a crash."""

from __future__ import annotations

import functools
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pv.channels import parse_object, parse_social_message
from pv.channels.social import MAX_POSTS_PER_FILE
from pv.models import Quarantined, SourceDocument
from pv.sentences import document_sentences
from work_bounds import Work, calibrate, measured

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"
EXPECTED = json.loads((HOSTILE / "EXPECTED.json").read_text())["files"]
LANDED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
MAX_BYTES = 5 * 1024 * 1024  # the template's default MAX_DOCUMENT_BYTES


def _outcomes(results: list[SourceDocument | Quarantined]) -> dict[str, str]:
    return {r.source_key: "document" if isinstance(r, SourceDocument) else r.reason for r in results}


# The calibration: an ordinary email of this size, parsed and split the same way in this run.
REFERENCE_BYTES = 64 * 1024
# Hostile input may cost this many times ordinary input of its size (or of REFERENCE_BYTES, when
# smaller): room for HTML, JSON and MIME being dearer per byte than plain text, none for a
# quadratic parse, an inflated bomb or a catastrophic regex (hundreds of times and more).
TIMES = 25


def _parse_and_split(key: str, body: bytes, max_bytes: int) -> tuple[list, list]:
    results = parse_object(key, body, LANDED, max_bytes)
    return results, [document_sentences(r) for r in results if isinstance(r, SourceDocument)]


@functools.cache
def _calibration() -> Work:
    sentence = "Since I started the new tablets on Monday I have felt tired in the afternoons. "
    head = "From: a@example.com\nTo: b@example.com\nSubject: tablets\n\n"
    ordinary = (head + sentence * (REFERENCE_BYTES // len(sentence))).encode()
    return calibrate(lambda: _parse_and_split("email/ordinary.eml", ordinary, MAX_BYTES))


def _bounded(key: str, body: bytes, max_bytes: int = MAX_BYTES, mib: float = 64, times: float = TIMES):
    """Parse and split into sentences, bounding peak Python memory, and CPU against ordinary input
    of the same size measured in this run."""
    calibration = _calibration()
    with measured() as work:
        results, sentences = _parse_and_split(key, body, max_bytes)
    scale = max(1.0, len(body) / REFERENCE_BYTES)
    work.assert_within(Work(cpu_s=calibration.cpu_s * scale), times=times, mib=mib)
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
    results, _ = _bounded("social/big.jsonl", body, max_bytes=len(body), mib=512)
    # The first MAX_POSTS_PER_FILE posts, and one record for the lines after them.
    assert len(results) == MAX_POSTS_PER_FILE + 1 < MAX_BYTES // len(line)
    assert _outcomes(results[-1:]) == {f"social/big.jsonl#lines-1001-{MAX_BYTES // len(line)}": "post_limit"}
    results, _ = _bounded("social/big.jsonl", body + b"x", max_bytes=len(body), mib=1)
    assert _outcomes(results) == {"social/big.jsonl": "too_large"}


def test_a_gzip_bomb_is_never_decompressed():
    bomb = gzip.compress(b"\0" * 50_000_000)
    results, _ = _bounded("email/bomb.eml", bomb, mib=1)
    assert _outcomes(results) == {"email/bomb.eml": "binary"}


def _many_parts(parts: int) -> bytes:
    body = "".join(f"--B\nContent-Type: image/png\n\npart {i}\n" for i in range(parts))
    return (
        "From: a@example.com\nTo: b@example.com\nSubject: " + "x" * 100_000 + "\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n' + body + "--B--\n"
    ).encode()


def test_a_huge_email_header_and_many_mime_parts_stay_bounded():
    """GIVEN a 100,000-character subject and 1,000 MIME parts WHEN parsed THEN one document with
    the whole subject and the parts counted, in bounded memory; its CPU grows linearly with the
    parts (each costs the email package far more than a byte of text, so the bound is the growth
    from 100 to 400 parts, measured in this run: 4x when linear, 16x when quadratic)."""
    results, _ = _bounded("email/many.eml", _many_parts(1_000), mib=128, times=float("inf"))
    [doc] = results
    assert isinstance(doc, SourceDocument)
    assert (doc.units[0].kind, len(doc.units[0].text), doc.metadata["attachments"]) == (
        "subject",
        100_000,
        "1000",
    )
    fewer, more = _many_parts(100), _many_parts(400)
    growth = calibrate(lambda: _parse_and_split("email/m.eml", more, MAX_BYTES))
    growth.assert_within(
        calibrate(lambda: _parse_and_split("email/m.eml", fewer, MAX_BYTES)), times=8, mib=128
    )

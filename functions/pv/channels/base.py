"""What every channel parser shares: quarantine reasons, the parse error, text decoding."""

from __future__ import annotations

import codecs
import json
from typing import Any, Final

# Posts one JSON Lines file may hold for screening (about 2,000 sentences: one invocation's work).
MAX_POSTS_PER_FILE: Final = 1000


class Reason:
    """Why a document was quarantined: short fixed strings, never document text."""

    UNKNOWN_PREFIX: Final = "unknown_prefix"
    EMPTY: Final = "empty"
    TOO_LARGE: Final = "too_large"
    BINARY: Final = "binary"
    BAD_ENCODING: Final = "bad_encoding"
    NO_TEXT: Final = "no_text"
    MALFORMED_EMAIL: Final = "malformed_email"
    MALFORMED_JSON: Final = "malformed_json"
    MALFORMED_TRANSCRIPT: Final = "malformed_transcript"
    MALFORMED_POST: Final = "malformed_post"
    # The posts of a JSON Lines file after the first MAX_POSTS_PER_FILE: one record says which lines.
    POST_LIMIT: Final = "post_limit"


QUARANTINE_REASONS: Final = frozenset(
    value for name, value in vars(Reason).items() if name.isupper() and isinstance(value, str)
)


class ParseError(Exception):
    """A document (or one post) cannot be turned into text units; `reason` is a Reason value."""

    def __init__(self, reason: str) -> None:
        if reason not in QUARANTINE_REASONS:
            raise ValueError(f"unknown quarantine reason {reason!r}")
        super().__init__(reason)
        self.reason = reason


# Control characters other than tab, newline, carriage return and form feed.
_CONTROL_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_encoding(body: bytes) -> str | None:
    """The encoding a byte-order mark announces, if the bytes start with one."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return encoding
    return None


def looks_binary(body: bytes, sample: int = 8192) -> bool:
    """Whether the bytes are not text: NUL bytes, or over 10% control bytes, in the first `sample`.

    A few stray control characters (terminal escapes, a bell) are tolerated: text is text.
    """
    if bom_encoding(body) in ("utf-16", "utf-32"):
        return False  # NUL bytes are how UTF-16/32 spell ASCII
    head = body[:sample]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b in _CONTROL_BYTES)
    return controls > max(8, len(head) // 10)


def decode_text(body: bytes, fallbacks: tuple[str, ...] = ()) -> tuple[str, str]:
    """Decode text bytes: a BOM's encoding, else UTF-8, else each fallback; strict throughout.

    Returns (text, encoding). Raises ParseError(bad_encoding) when nothing decodes cleanly.
    """
    announced = bom_encoding(body)
    for encoding in (announced,) if announced else ("utf-8", *fallbacks):
        try:
            return body.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    raise ParseError(Reason.BAD_ENCODING)


def load_json(text: str) -> Any:
    """json.loads that turns syntax errors, absurd nesting and absurd numbers into malformed_json."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise ParseError(Reason.MALFORMED_JSON) from exc

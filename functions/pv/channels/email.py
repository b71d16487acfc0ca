"""Emails (.eml): headers, the body preferred as text/plain, and the body's parts told apart.

The new text is screened; quoted replies (`>` lines, the history after "On ... wrote:" or an
Outlook "-----Original Message-----" / "From: ... Sent: ..." block) and signatures are kept as
their own units and not screened. A forwarded message ("---------- Forwarded message ---------")
stays body: it is often a report the company has not seen yet. So does a message forwarded as an
attachment (message/rfc822): its subject and body follow the same forward marker. From/To/Cc are
personal data and go to metadata only (the encrypted store), never into text units; an enclosed
message's From/To are not read at all. Nesting past what the parsers recurse into is malformed.
The text of an attached text or HTML file, a PDF (its text layer: a letter, a reporting form) or
a Word document (.docx) is an `attachment` unit, screened; other attachments, and those that
cannot be read, are only counted (`attachments`, `attachments_read` in the metadata).
"""

from __future__ import annotations

import email
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, MIMEPart
from html.parser import HTMLParser

from pv.channels.attachments import reader_for
from pv.channels.base import ParseError, Reason
from pv.models import TextUnit

_KNOWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "received",
        "sender",
    }
)
_FALLBACK_CHARSETS = ("utf-8", "cp1252")

_ON_WROTE = re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE)
_OUTLOOK_FROM = re.compile(r"^\s*\*?From:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\s*\*?(Sent|Date):\*?\s*\S", re.IGNORECASE)
_RULE = re.compile(r"^\s*_{8,}\s*$")
_FORWARDED = re.compile(
    r"^\s*(-{2,}\s*Forwarded message\s*-{2,}|Begin forwarded message:)\s*$", re.IGNORECASE
)
_TEXT_ATTACHMENTS = frozenset({"text/plain", "text/html"})
_FORWARD_MARKER = "---------- Forwarded message ---------"
_SIG_DELIMITER = re.compile(r"^--\s?$")
_VALEDICTION = re.compile(
    r"^\s*((best|kind|warm|warmest|many thanks and)?\s*(regards|wishes)"
    r"|sincerely|yours\s+(sincerely|truly|faithfully)|cheers|thanks|thank you|many thanks"
    r"|thanks again|best|all the best|take care)\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_SENT_FROM = re.compile(
    r"^\s*(Sent from my\s+\S|Sent from (Outlook|Mail|Yahoo)|Get Outlook for)", re.IGNORECASE
)
_POSTSCRIPT = re.compile(r"^\s*P\.?\s?S\.?(\s|:|$)", re.IGNORECASE)
_MAX_SIGNATURE_LINES = 8
_MAX_DELIMITED_SIGNATURE_LINES = 15


def parse_email(body: bytes, received_at: datetime) -> tuple[list[TextUnit], dict[str, str], datetime]:
    """Units, metadata and received time (the Date header when it is not in the future)."""
    try:
        message = email.message_from_bytes(body, policy=policy.default)
        if not isinstance(message, EmailMessage) or not _KNOWN_HEADERS & {k.lower() for k in message}:
            raise ParseError(Reason.MALFORMED_EMAIL)
        subject = str(message.get("subject") or "").strip()
        sent_at = _date(message)
        parts = _body_parts(message)
        text, read_parts = _body_text(parts)
        attachments = _attachments(message, read_parts)
        read = [reader() for part in attachments if (reader := _attachment_reader(part))]
        attached_texts = [t for t in read if t]
        metadata = {
            "from": str(message.get("from") or ""),
            "to": str(message.get("to") or ""),
            "cc": str(message.get("cc") or ""),
            "message_id": str(message.get("message-id") or ""),
            # The thread a reply belongs to (follow-up linking keys on their keyed hashes).
            "in_reply_to": " ".join(str(message.get("in-reply-to") or "").split()),
            "references": " ".join(str(message.get("references") or "").split()),
            "date": str(message.get("date") or ""),
            "body_type": parts[0].get_content_type() if parts else "none",
            "attachments": str(len(attachments)),
            "attachments_read": str(sum(1 for t in read if t is not None)) if read else "",
        }
    except (
        ValueError,
        TypeError,
        LookupError,
        IndexError,
        AttributeError,
        RecursionError,
        email.errors.MessageError,
    ) as exc:
        if isinstance(exc, ParseError):
            raise
        raise ParseError(Reason.MALFORMED_EMAIL) from exc
    units = ([TextUnit(kind="subject", text=subject)] if subject else []) + split_body(text)
    units += [TextUnit(kind="attachment", text=t) for t in attached_texts]
    metadata = {k: v for k, v in metadata.items() if v}
    return units, metadata, _received(sent_at, received_at)


def _date(message: EmailMessage) -> datetime | None:
    header = message.get("date")
    value = getattr(header, "datetime", None)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _received(sent_at: datetime | None, received_at: datetime) -> datetime:
    """The Date header, unless missing or after the object landed (a wrong clock)."""
    landed = received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)
    return sent_at if sent_at is not None and sent_at <= landed else received_at


def _part_text(part: MIMEPart) -> str:
    """A text part decoded: its declared charset, else UTF-8, else windows-1252; strict."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = part.get_content_charset()
    for charset in (declared, *_FALLBACK_CHARSETS) if declared else _FALLBACK_CHARSETS:
        try:
            return payload.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
    raise ParseError(Reason.BAD_ENCODING)


def _text_of(part: MIMEPart) -> str:
    """A text/plain part's text, or a text/html part's visible text (ParseError if undecodable)."""
    text = _part_text(part)
    return text if part.get_content_subtype() == "plain" else html_to_text(text)


def _body_text(parts: list[MIMEPart]) -> tuple[str, list[MIMEPart]]:
    """The body parts' text joined in order, and the text parts it was read from (those of an
    enclosed message too); a message forwarded as an attachment follows as a forwarded block
    (marker, its subject, its body), screened like an inline forward."""
    pieces: list[str] = []
    read: list[MIMEPart] = []
    for part in parts:
        if part.get_content_type() == "message/rfc822":
            piece, inner_read = _forwarded_text(part)
            pieces.append(piece)
            read += inner_read
        else:
            pieces.append(_text_of(part))
            read.append(part)
    return "\n\n".join(p for p in pieces if p), read


def _forwarded_text(part: MIMEPart) -> tuple[str, list[MIMEPart]]:
    inner = next(iter(part.iter_parts()), None)
    if inner is None:
        return "", []
    subject = str(inner.get("subject") or "").strip()
    # Only the subject of the enclosed headers: its From/To are personal data, kept out of the text.
    header = f"{_FORWARD_MARKER}\nSubject: {subject}" if subject else _FORWARD_MARKER
    inner_parts = _body_parts(inner)
    try:
        body, read = _body_text(inner_parts)
    except ParseError:  # an enclosed message in no charset tried: the email around it is still read
        body, read = "", inner_parts
    return (f"{header}\n\n{body}" if body else header), read


def _body_parts(part: MIMEPart) -> list[MIMEPart]:
    """The parts that make up the body, in order: one text part per alternative, every inline one,
    and every enclosed message (message/rfc822, inline or attached).

    Mail clients split a body around inline images into several text parts of a
    multipart/mixed; all of them are the reporter's text, not only the first. "Forward as
    attachment" sends the original report as an attached message: it is read, not counted away.
    """
    if part.get_content_type() == "message/rfc822":
        return [part]
    if part.is_attachment() or part.get_filename():
        return []
    if part.get_content_type() == "multipart/alternative":
        best = part.get_body(preferencelist=("plain", "html"))
        return [best] if best is not None else []
    if part.is_multipart():
        return [p for child in part.iter_parts() for p in _body_parts(child)]
    if part.get_content_type() in ("text/plain", "text/html"):
        return [part]
    return []


def _attachments(message: EmailMessage, read: list[MIMEPart]) -> list[MIMEPart]:
    """Leaf parts that are neither body text that was `read` nor a text alternative of it (also
    those of an enclosed message)."""
    read_ids = {id(part) for part in read}
    return [
        part
        for part in message.walk()
        if not part.is_multipart()
        and id(part) not in read_ids
        and (part.is_attachment() or part.get_filename() or part.get_content_maintype() != "text")
    ]


def _attachment_reader(part: MIMEPart) -> Callable[[], str | None] | None:
    """How to read an attachment's text (plain text, HTML, PDF, .docx; None from the reader when
    it cannot be decoded or parsed), or None for a kind whose text is not read."""
    if part.get_content_type() in _TEXT_ATTACHMENTS:
        return lambda: _decoded_or_none(part)
    reader = reader_for(part.get_content_type(), part.get_filename() or "")
    return (lambda: reader(_payload(part))) if reader is not None else None


def _decoded_or_none(part: MIMEPart) -> str | None:
    try:
        return _text_of(part)
    except ParseError:
        return None


def _payload(part: MIMEPart) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def split_body(text: str) -> list[TextUnit]:
    """The body's new text, quoted replies and signature as separate units, in order."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    history = _history_start(lines)
    kinds = ["body" if not line.lstrip().startswith(">") else "quoted" for line in lines[:history]]
    kinds += ["quoted"] * (len(lines) - history)
    signature = _signature(lines, kinds, history)
    if signature:
        start, end = signature
        for i in range(start, end):
            if kinds[i] == "body":
                kinds[i] = "signature"
    return _group(lines, kinds)


def _history_start(lines: list[str]) -> int:
    """Index of the first line of the quoted history (len(lines) when there is none)."""
    forward_header_until = -1
    for i, line in enumerate(lines):
        if _FORWARDED.match(line):
            forward_header_until = _next_blank(lines, i + 1)
            continue
        if i <= forward_header_until:
            continue
        if _ORIGINAL.match(line) or _ON_WROTE.match(line):
            return i
        # Mail clients wrap a long "On <date>, <name> <address> wrote:" onto a second line.
        if (
            i + 1 < len(lines)
            and line.lstrip().lower().startswith("on ")
            and _ON_WROTE.match(f"{line} {lines[i + 1]}")
        ):
            return i
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_SENT.match(n) for n in lines[i + 1 : i + 5]):
            return i - 1 if i > 0 and _RULE.match(lines[i - 1]) else i
    return len(lines)


def _next_blank(lines: list[str], start: int) -> int:
    for i in range(start, len(lines)):
        if not lines[i].strip():
            return i
    return len(lines)


def _signature(lines: list[str], kinds: list[str], end: int) -> tuple[int, int] | None:
    """(start, end) of the signature block before the history, if one is there."""
    for i in range(end):
        if kinds[i] != "body":
            continue
        line = lines[i]
        if _SIG_DELIMITER.match(line):
            limit = _MAX_DELIMITED_SIGNATURE_LINES
        elif _VALEDICTION.match(line) or _SENT_FROM.match(line):
            limit = _MAX_SIGNATURE_LINES
        else:
            continue
        stop = end
        for j in range(i + 1, end):
            if _POSTSCRIPT.match(lines[j]):
                stop = j
                break
        tail = [lines[j] for j in range(i, stop) if lines[j].strip() and kinds[j] == "body"]
        if len(tail) <= limit and all(len(t) <= 80 and len(t.split()) <= 10 for t in tail[1:]):
            return i, stop
    return None


def _group(lines: list[str], kinds: list[str]) -> list[TextUnit]:
    """Consecutive lines of one kind as one unit; blank lines join the unit they sit in."""
    units: list[TextUnit] = []
    current_kind: str | None = None
    current: list[str] = []

    def flush() -> None:
        text = "\n".join(current).strip()
        if text and current_kind:
            units.append(TextUnit(kind=current_kind, text=text))  # type: ignore[arg-type]

    for line, kind in zip(lines, kinds, strict=True):
        if not line.strip() and current_kind is not None:
            current.append(line)
            continue
        if kind != current_kind:
            flush()
            current_kind, current = kind, []
        current.append(line)
    flush()
    return units


class _HtmlText(HTMLParser):
    """Visible text of an HTML body: blocks as lines, blockquotes as `>` lines, no scripts."""

    _SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "object"})
    _BLOCK = frozenset(
        {"p", "div", "br", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "hr", "h1", "h2", "h3"}
        | {"h4", "h5", "h6", "section", "article", "header", "footer", "dd", "dt", "dl", "address"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._skip = 0
        self._quote = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
            return
        if tag in self._BLOCK:
            self._newline()
        if tag == "blockquote":
            self._quote += 1
        elif tag == "pre":
            self._pre += 1
        elif tag == "li":
            self._current.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if tag in self._BLOCK:
            self._newline()
        if tag == "blockquote":
            self._quote = max(0, self._quote - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        elif tag in ("td", "th"):
            self._current.append(" ")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            first, *rest = data.split("\n")
            self._current.append(first)
            for piece in rest:
                self._newline()
                self._current.append(piece)
        else:
            self._current.append(re.sub(r"\s+", " ", data))

    def _newline(self) -> None:
        text = re.sub(r" {2,}", " ", "".join(self._current)).strip()
        self._current = []
        self.lines.append(f"{'> ' * self._quote}{text}" if text else "")

    def text(self) -> str:
        self.close()
        self._newline()
        return re.sub(r"\n{3,}", "\n\n", "\n".join(self.lines)).strip()


def html_to_text(html: str) -> str:
    """Visible text of an HTML email body (stdlib html.parser; scripts and styles dropped)."""
    parser = _HtmlText()
    parser.feed(html)
    return parser.text()

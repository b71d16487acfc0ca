"""Text of the attachments a report often arrives in: PDF letters and forms (pypdf, pure Python)
and Word documents (.docx, read with the standard library).

An attachment is read within bounds (a PDF's first `MAX_PAGES` pages, `MAX_CHARS` characters; a
.docx whose document part inflates past `MAX_DOCX_XML_BYTES` is not read) and any failure leaves it
unread: counted in the email's metadata, never a crash and never a quarantine of the email around
it. pypdf is imported on first use, so cold starts of documents without a PDF do not pay for it.
"""

from __future__ import annotations

import html
import io
import logging
import re
import zipfile
from collections.abc import Callable

MAX_PAGES = 30
MAX_CHARS = 200_000
MAX_DOCX_XML_BYTES = 20_000_000
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
DOCX_TYPES = frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document"})
# A run of text, a tab, a line break, or the end of a paragraph in WordprocessingML. Read with a
# pattern, not an XML parser: no entity is ever expanded.
_DOCX_PIECES = re.compile(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>|<w:(tab|br|cr)\b[^>]*/>|</w:(p)>")


def pdf_text(data: bytes) -> str | None:
    """The text layer of a PDF's first pages ("" for a scan without one), or None when the
    file cannot be read (broken, locked by a password, not a PDF)."""
    if data[:1024].lstrip()[:5] != b"%PDF-":
        return None
    try:
        from pypdf import PdfReader

        # pypdf's warnings can quote the file's objects: keep them out of the function's logs.
        logging.getLogger("pypdf").setLevel(logging.CRITICAL)
        reader = PdfReader(io.BytesIO(data), strict=False)
        # Forms are often encrypted with an empty user password (only printing or editing is
        # locked): those open; one that needs a real password stays unread.
        if reader.is_encrypted and not reader.decrypt(""):
            return None
        pieces: list[str] = []
        size = 0
        for index in range(min(len(reader.pages), MAX_PAGES)):
            text = reader.pages[index].extract_text() or ""
            pieces.append(text)
            size += len(text)
            if size >= MAX_CHARS:
                break
    except Exception:  # a third-party parser on hostile bytes: whatever it raises means "unread"
        return None
    return "\n\n".join(p.strip() for p in pieces if p.strip())[:MAX_CHARS]


def docx_text(data: bytes) -> str | None:
    """The paragraphs of a Word document's main part, or None when it cannot be read (not a
    .docx, broken, or inflating past `MAX_DOCX_XML_BYTES`)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("word/document.xml")
            if info.file_size > MAX_DOCX_XML_BYTES:
                return None
            with archive.open(info) as part:
                xml = part.read(MAX_DOCX_XML_BYTES + 1)  # the declared size can lie
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError, EOFError, NotImplementedError):
        return None
    if len(xml) > MAX_DOCX_XML_BYTES:
        return None
    pieces: list[str] = []
    for match in _DOCX_PIECES.finditer(xml.decode("utf-8", errors="replace")):
        text, space, _ = match.groups()
        if text is not None:
            pieces.append(html.unescape(text))
        else:
            pieces.append("\t" if space == "tab" else "\n")  # a tab, or a line or paragraph end
    lines = (line.strip() for line in "".join(pieces).split("\n"))
    return "\n".join(line for line in lines if line)[:MAX_CHARS]


def reader_for(content_type: str, filename: str) -> Callable[[bytes], str | None] | None:
    """The function that reads an attachment of this type or file name (PDF, .docx), or None for
    a kind this module does not read."""
    name = filename.lower()
    if content_type in PDF_TYPES or name.endswith(".pdf"):
        return pdf_text
    if content_type in DOCX_TYPES or name.endswith(".docx"):
        return docx_text
    return None

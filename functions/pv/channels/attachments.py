"""Text of the attachments a report often arrives in: PDF letters and forms (pypdf, pure Python).

An attachment is read within bounds (its first `MAX_PAGES` pages, `MAX_CHARS` characters) and any
failure of the PDF library leaves it unread: counted in the email's metadata, never a crash and
never a quarantine of the email around it. pypdf is imported on first use, so cold starts of
documents without a PDF do not pay for it.
"""

from __future__ import annotations

import io
import logging

MAX_PAGES = 30
MAX_CHARS = 200_000
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})


def pdf_text(data: bytes) -> str | None:
    """The text layer of a PDF's first pages ("" for a scan without one), or None when the
    file cannot be read (broken, encrypted, not a PDF)."""
    if data[:1024].lstrip()[:5] != b"%PDF-":
        return None
    try:
        from pypdf import PdfReader

        # pypdf's warnings can quote the file's objects: keep them out of the function's logs.
        logging.getLogger("pypdf").setLevel(logging.CRITICAL)
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
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

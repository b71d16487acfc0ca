"""Emails that tests build: with a PDF attachment whose text layer the test chooses."""

from __future__ import annotations

import base64
import io
import zipfile
from xml.sax.saxutils import escape


def pdf_of(objects: list[bytes]) -> bytes:
    """A PDF of these numbered objects (1 is the catalog), with a valid cross-reference table."""
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    return out + f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()


def one_page_pdf(content: bytes, filters: str = "") -> bytes:
    """A one-page PDF whose page content stream is `content` (stored with `filters`, if any)."""
    return pdf_of(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            f"<< /Length {len(content)}{filters} >>\nstream\n".encode() + content + b"\nendstream",
        ]
    )


def text_pdf(*lines: str) -> bytes:
    """A one-page PDF whose text layer holds `lines` (Helvetica, one line each)."""
    shown = " ".join(f"({line}) Tj T*" for line in lines)
    return one_page_pdf(f"BT /F1 11 Tf 72 720 Td 14 TL {shown} ET".encode("latin-1"))


def docx(*paragraphs: str, inflated: int = 0) -> bytes:
    """A Word document (.docx) of these paragraphs; `inflated` pads its main part with that many
    spaces (which compress to almost nothing)."""
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(p)}</w:t></w:r></w:p>' for p in paragraphs)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w='
        '"http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}{' ' * inflated}</w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", xml)
    return out.getvalue()


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def email_with_pdf(
    pdf: bytes,
    body: str = "Please see the attached letter from the clinic.",
    *,
    filename: str = "letter.pdf",
    content_type: str = "application/pdf",
) -> bytes:
    """An email whose body points to an attachment, a PDF unless told otherwise (base64, as mail
    clients send it)."""
    encoded = base64.encodebytes(pdf).decode()
    return (
        "From: Jane Roe <jane.roe@example.com>\nTo: medinfo@pharma.example\nSubject: Letter\n"
        + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
        + f"--B\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
        + f'--B\nContent-Type: {content_type}; name="{filename}"\nContent-Transfer-Encoding: base64\n'
        + f'Content-Disposition: attachment; filename="{filename}"\n\n{encoded}--B--\n'
    ).encode()

"""Email parsing: headers, multipart, HTML-only bodies, quoted replies, signatures, charsets."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from mail_inputs import DOCX_TYPE, docx, email_with_pdf, text_pdf
from pv.channels import parse_object
from pv.channels.email import html_to_text, split_body
from pv.models import Quarantined, SourceDocument

LANDED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HEADERS = "From: Jane Roe <jane.roe@example.com>\nTo: medinfo@pharma.example\nSubject: {subject}\n{extra}"


def _email(
    body: str, subject: str = "Side effect", extra: str = "Content-Type: text/plain; charset=utf-8\n"
) -> bytes:
    return (HEADERS.format(subject=subject, extra=extra) + "\n" + body).encode()


def _parse(raw: bytes) -> SourceDocument:
    [doc] = parse_object("email/message.eml", raw, LANDED, 1_000_000)
    assert isinstance(doc, SourceDocument)
    return doc


def _kinds(doc: SourceDocument) -> list[tuple[str, str]]:
    return [(u.kind, u.text) for u in doc.units]


def test_subject_and_body_become_units_and_addresses_stay_in_metadata():
    doc = _parse(_email("My legs ache since Lipitor.\n"))
    assert _kinds(doc) == [("subject", "Side effect"), ("body", "My legs ache since Lipitor.")]
    assert doc.metadata["from"] == "Jane Roe <jane.roe@example.com>"
    assert doc.metadata["to"] == "medinfo@pharma.example"
    assert "jane.roe@example.com" not in doc.text


def test_thread_headers_are_kept_in_metadata_for_follow_up_linking():
    raw = _email(
        "The rash is worse today.\n",
        extra="Message-ID: <r2@mail.example.com>\nIn-Reply-To: <r1@mail.example.com>\n"
        "References: <r0@pharma.example>\n <r1@mail.example.com>\n",
    )
    doc = _parse(raw)
    assert doc.metadata["message_id"] == "<r2@mail.example.com>"
    assert doc.metadata["in_reply_to"] == "<r1@mail.example.com>"
    assert doc.metadata["references"] == "<r0@pharma.example> <r1@mail.example.com>"
    assert "in_reply_to" not in _parse(_email("A first message.\n")).metadata


def test_document_id_is_the_sha256_of_the_bytes():
    raw = _email("My legs ache since Lipitor.\n")
    assert _parse(raw).document_id == __import__("hashlib").sha256(raw).hexdigest()


def test_date_header_becomes_the_received_time():
    raw = _email("Text.\n", extra="Date: Tue, 04 Mar 2025 08:12:44 +0100\n")
    assert _parse(raw).received_at == datetime(2025, 3, 4, 7, 12, 44, tzinfo=UTC)


def test_a_date_header_in_the_future_or_missing_keeps_the_landing_time():
    assert _parse(_email("Text.\n", extra="Date: Tue, 04 Mar 2031 08:12:44 +0000\n")).received_at == LANDED
    assert _parse(_email("Text.\n", extra="Date: not a date\n")).received_at == LANDED
    assert _parse(_email("Text.\n")).received_at == LANDED


def test_quoted_lines_on_wrote_history_and_signature_are_separate_unscreened_units():
    body = (
        "I started Lipitor and my legs ache.\n"
        "> Did you have any side effects?\n"
        "They got worse this week.\n\n"
        "Best regards,\nJane Roe\n555-0100\n\n"
        "On Mon, 3 Mar 2025 at 10:00, Med Info <medinfo@pharma.example>\nwrote:\n"
        "> Thank you for your message.\n"
    )
    doc = _parse(_email(body))
    assert _kinds(doc) == [
        ("subject", "Side effect"),
        ("body", "I started Lipitor and my legs ache."),
        ("quoted", "> Did you have any side effects?"),
        ("body", "They got worse this week."),
        ("signature", "Best regards,\nJane Roe\n555-0100"),
        (
            "quoted",
            "On Mon, 3 Mar 2025 at 10:00, Med Info <medinfo@pharma.example>\nwrote:\n"
            "> Thank you for your message.",
        ),
    ]
    assert doc.text == "Side effect\n\nI started Lipitor and my legs ache.\n\nThey got worse this week."


def test_outlook_original_message_and_from_sent_blocks_start_the_history():
    original = split_body("New text here.\n\n-----Original Message-----\nFrom: A\nSent: today\n\nOld text.")
    outlook = split_body(
        "New text here.\n________________________________\nFrom: A <a@x>\nSent: Monday\nTo: B\n\nOld."
    )
    assert [u.kind for u in original] == ["body", "quoted"]
    assert [u.kind for u in outlook] == ["body", "quoted"]
    assert outlook[1].text.startswith("________________________________\nFrom: A")


def test_forwarded_message_stays_screened_body():
    units = split_body(
        "FYI see below.\n\n---------- Forwarded message ---------\nFrom: Rosa <r@example.com>\n"
        "Date: Sat, 15 Mar 2025\nSubject: nosebleeds\n\nI get nosebleeds on Xarelto.\n"
    )
    assert [u.kind for u in units] == ["body"]
    assert "I get nosebleeds on Xarelto." in units[0].text


def _forward_as_attachment(inner: str, outer_text: str = "FYI, see the attached report.") -> bytes:
    return (
        HEADERS.format(subject="Fw: report", extra="")
        + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
        + f"--B\nContent-Type: text/plain; charset=utf-8\n\n{outer_text}\n"
        + '--B\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename="report.eml"\n\n'
        + inner
        + "\n--B--\n"
    ).encode()


def test_a_message_forwarded_as_an_attachment_is_screened_as_a_forward():
    """GIVEN a colleague's email with the patient's report attached as a message ("Forward as
    attachment") WHEN it is parsed THEN the report's subject and text are screened body, after a
    forward marker, and the enclosed sender's address stays out of the text."""
    inner = (
        "From: Rosa Delgado <rosa@example.com>\nTo: medinfo@pharma.example\nSubject: nosebleeds\n"
        "Content-Type: text/plain; charset=utf-8\n\nI get nosebleeds on Xarelto.\n"
    )
    doc = _parse(_forward_as_attachment(inner))
    assert _kinds(doc) == [
        ("subject", "Fw: report"),
        (
            "body",
            "FYI, see the attached report.\n\n---------- Forwarded message ---------\n"
            "Subject: nosebleeds\n\nI get nosebleeds on Xarelto.",
        ),
    ]
    assert "rosa@example.com" not in doc.text
    assert doc.metadata["attachments"] == "0"


def test_an_attached_message_reads_its_own_body_and_counts_its_own_attachments():
    inner = (
        'Subject: rash\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="I"\n\n'
        "--I\nContent-Type: text/html; charset=utf-8\n\n<p>Rash after <b>amoxicillin</b>.</p>\n"
        '--I\nContent-Type: application/pdf; name="photo.pdf"\nContent-Disposition: attachment\n\n'
        "JVBERi0=\n--I--\n"
    )
    doc = _parse(_forward_as_attachment(inner))
    assert doc.units[-1].text.endswith("Subject: rash\n\nRash after amoxicillin.")
    assert doc.metadata["attachments"] == "1"


def test_the_text_of_a_pdf_attachment_is_screened_as_an_attachment_unit():
    """GIVEN an email whose report is in an attached PDF letter WHEN parsed THEN the PDF's text is
    an attachment unit after the body, screened like the body, and the attachment counts as read."""
    pdf = text_pdf("Re: Mr W. B., 64", "Two days after his first Humira injection he developed a high fever.")
    doc = _parse(email_with_pdf(pdf))
    assert _kinds(doc)[-1] == (
        "attachment",
        "Re: Mr W. B., 64\nTwo days after his first Humira injection he developed a high fever.",
    )
    assert doc.units[-1].is_screened
    assert (doc.metadata["attachments"], doc.metadata["attachments_read"]) == ("1", "1")


def test_the_paragraphs_of_a_word_attachment_are_screened_as_an_attachment_unit():
    """GIVEN an email with a .docx report (entities escaped as Word writes them) WHEN parsed THEN
    its paragraphs, unescaped, are one attachment unit, and the attachment counts as read."""
    report = docx("Adverse event report", "Since starting Lipitor & Zetia <10 mg> she has muscle pain.")
    doc = _parse(email_with_pdf(report, filename="report.docx", content_type=DOCX_TYPE))
    assert _kinds(doc)[-1] == (
        "attachment",
        "Adverse event report\nSince starting Lipitor & Zetia <10 mg> she has muscle pain.",
    )
    assert doc.metadata["attachments_read"] == "1"


def test_a_word_attachment_inflating_past_the_limit_or_not_a_zip_is_left_unread():
    bomb = docx("Rash after Keflex.", inflated=30_000_000)  # ~30 MB of XML in a ~30 KB zip
    for attachment in (bomb, b"PK\x03\x04 not really a zip"):
        doc = _parse(email_with_pdf(attachment, filename="report.docx", content_type=DOCX_TYPE))
        assert [u.kind for u in doc.units] == ["subject", "body"]
        assert (doc.metadata["attachments"], doc.metadata["attachments_read"]) == ("1", "0")


def test_attached_text_and_html_files_are_read_and_one_in_an_unknown_charset_is_not():
    """GIVEN a chat log attached as .txt, a web form attached as .html, and a text file whose
    bytes fit none of the charsets tried WHEN parsed THEN the first two are attachment units (the
    form's visible text only) and the third is counted unread."""
    raw = (
        HEADERS.format(subject="Reports", extra="")
        + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
        + "--B\nContent-Type: text/plain; charset=utf-8\n\nSee the attached.\n"
        + "--B\nContent-Type: text/plain; charset=utf-8\n"
        + 'Content-Disposition: attachment; filename="chat.txt"\n\n'
        + "Customer: I fainted after the Zoloft.\n"
        + "--B\nContent-Type: text/html; charset=utf-8\n"
        + 'Content-Disposition: attachment; filename="form.html"\n\n'
        + "<html><script>x()</script><p>Reaction: <b>hives</b> after amoxicillin</p></html>\n"
        + "--B\nContent-Type: text/plain; charset=x-unknown\nContent-Transfer-Encoding: base64\n"
        + 'Content-Disposition: attachment; filename="odd.txt"\n\ngQ==\n--B--\n'
    ).encode()
    doc = _parse(raw)
    assert _kinds(doc)[2:] == [
        ("attachment", "Customer: I fainted after the Zoloft."),
        ("attachment", "Reaction: hives after amoxicillin"),
    ]
    assert (doc.metadata["attachments"], doc.metadata["attachments_read"]) == ("3", "2")


def test_a_pdf_locked_only_for_editing_is_read_and_one_needing_a_password_is_not():
    """GIVEN a PDF form encrypted with an empty user password (printing and editing locked) and
    one that needs a password to open WHEN attached THEN the first is read, the second counted."""
    import io

    from pypdf import PdfReader, PdfWriter

    def locked(user_password: str) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf("Rash after Keflex."))))
        writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="RC4-128")
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    assert _kinds(_parse(email_with_pdf(locked(""))))[-1] == ("attachment", "Rash after Keflex.")
    closed = _parse(email_with_pdf(locked("patient-password")))
    assert [u.kind for u in closed.units] == ["subject", "body"]
    assert closed.metadata["attachments_read"] == "0"


def test_an_unreadable_pdf_is_counted_unread_and_the_email_is_still_screened():
    doc = _parse(email_with_pdf(b"%PDF-1.7\n\x00\x01 this is not a PDF body"))
    assert [u.kind for u in doc.units] == ["subject", "body"]
    assert (doc.metadata["attachments"], doc.metadata["attachments_read"]) == ("1", "0")


def test_an_attached_message_in_an_unknown_charset_leaves_the_email_around_it_screened():
    inner = "Subject: odd\nContent-Type: text/plain; charset=x-unknown\n"
    inner += "Content-Transfer-Encoding: base64\n\ngQ==\n"  # byte 0x81: neither UTF-8 nor windows-1252
    doc = _parse(_forward_as_attachment(inner, outer_text="My rash came back on Keflex."))
    assert doc.units[1].text.startswith("My rash came back on Keflex.")
    assert doc.units[1].text.endswith("---------- Forwarded message ---------\nSubject: odd")


def test_signature_delimiter_and_sent_from_my_iphone_are_signatures():
    assert [(u.kind, u.text) for u in split_body("Rash after the pill.\n-- \nJane\n555-0100")] == [
        ("body", "Rash after the pill."),
        ("signature", "-- \nJane\n555-0100"),
    ]
    assert [u.kind for u in split_body("Rash after the pill.\n\nSent from my iPhone")] == [
        "body",
        "signature",
    ]


def test_a_valediction_followed_by_long_text_is_not_a_signature():
    body = "Thanks,\nI also want to say that since the second dose I have had terrible headaches every day."
    assert [u.kind for u in split_body(body)] == ["body"]


def test_a_postscript_after_the_signature_is_screened_again():
    units = split_body("Rash.\n\nKind regards,\nJane\n\nP.S. I was admitted to hospital on Friday.")
    assert [(u.kind, u.text) for u in units] == [
        ("body", "Rash."),
        ("signature", "Kind regards,\nJane"),
        ("body", "P.S. I was admitted to hospital on Friday."),
    ]


def test_multipart_prefers_text_plain_and_counts_attachments():
    raw = (
        HEADERS.format(subject="Report", extra="")
        + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
        + '--B\nContent-Type: multipart/alternative; boundary="A"\n\n'
        + "--A\nContent-Type: text/plain; charset=utf-8\n\nPlain text: fever after Humira.\n"
        + "--A\nContent-Type: text/html; charset=utf-8\n\n<p>HTML text</p>\n--A--\n"
        + "--B\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=r.pdf\n"
        + "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
        + "--B\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--B--\n"
    ).encode()
    doc = _parse(raw)
    assert _kinds(doc) == [("subject", "Report"), ("body", "Plain text: fever after Humira.")]
    assert doc.metadata["attachments"] == "2"
    assert doc.metadata["body_type"] == "text/plain"


def test_html_only_body_is_converted_without_scripts_or_styles():
    html = (
        "<html><head><style>p{color:red}</style><script>var x = 'SCRIPT';</script></head><body>"
        "<p>I got a rash&nbsp;after <b>amoxicillin</b> &amp; a fever.</p><ul><li>rash</li><li>fever</li></ul>"
        "<script>alert('SCRIPT')</script></body></html>"
    )
    doc = _parse(_email(html, extra="Content-Type: text/html; charset=utf-8\n"))
    assert _kinds(doc)[1:] == [("body", "I got a rash after amoxicillin & a fever.\n\n- rash\n\n- fever")]
    assert doc.metadata["body_type"] == "text/html"


def test_html_blockquote_becomes_quoted_lines():
    text = html_to_text(
        "<div>New: my head aches.</div><blockquote><p>Old question?</p></blockquote><p>End</p>"
    )
    assert text == "New: my head aches.\n\n> Old question?\n\nEnd"
    assert [u.kind for u in split_body(text)] == ["body", "quoted", "body"]


def test_iso_8859_1_quoted_printable_body_and_encoded_subject_decode():
    raw = (
        b"From: a@example.fr\nTo: medinfo@pharma.example\nSubject: =?iso-8859-1?q?Vertiges_apr=E8s?=\n"
        b'Content-Type: text/plain; charset="iso-8859-1"\nContent-Transfer-Encoding: quoted-printable\n\n'
        b"J'ai des vertiges depuis la metformine au caf=E9.\n"
    )
    assert _kinds(_parse(raw)) == [
        ("subject", "Vertiges après"),
        ("body", "J'ai des vertiges depuis la metformine au café."),
    ]


def test_windows_1252_8bit_body_decodes_curly_quotes():
    raw = _email(
        "", extra='Content-Type: text/plain; charset="windows-1252"\n'
    ) + "I shouldn’t – should I?".encode("cp1252")
    assert _kinds(_parse(raw))[1] == ("body", "I shouldn’t – should I?")


def test_mislabelled_charset_falls_back_to_utf8_then_windows_1252():
    utf8 = _email("", extra="Content-Type: text/plain; charset=us-ascii\n") + "café rash".encode()
    latin = _email("", extra="Content-Type: text/plain; charset=utf-8\n") + "café rash".encode("cp1252")
    unknown = _email("", extra="Content-Type: text/plain; charset=x-klingon\n") + "café rash".encode()
    assert [_kinds(_parse(raw))[1] for raw in (utf8, latin, unknown)] == [("body", "café rash")] * 3


def test_utf16_base64_body_decodes():
    payload = base64.encodebytes("Dry cough since lisinopril.".encode("utf-16")).decode()
    raw = _email(
        payload, extra="Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n"
    )
    assert _kinds(_parse(raw))[1] == ("body", "Dry cough since lisinopril.")


def test_undecodable_body_is_quarantined_as_bad_encoding():
    # 0x81 is undefined in windows-1252 and invalid UTF-8, and the declared charset is unknown.
    raw = _email("", extra="Content-Type: text/plain; charset=x-unknown\n") + b"caf\x81 \x81\x81"
    [result] = parse_object("email/bad.eml", raw, LANDED, 1_000_000)
    assert isinstance(result, Quarantined)
    assert result.reason == "bad_encoding"


def test_text_without_email_headers_is_malformed():
    [result] = parse_object("email/notes.eml", b"just some notes about a headache\n", LANDED, 1_000_000)
    assert isinstance(result, Quarantined)
    assert result.reason == "malformed_email"


def test_email_with_only_quoted_text_and_no_subject_has_no_text():
    raw = b"From: a@example.com\nTo: b@example.com\n\n> quoted only\n> nothing new\n"
    [result] = parse_object("email/empty-reply.eml", raw, LANDED, 1_000_000)
    assert isinstance(result, Quarantined)
    assert result.reason == "no_text"


def test_inline_text_parts_around_an_inline_image_are_all_body():
    raw = (
        HEADERS.format(subject="Photo", extra="")
        + 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
        + "--B\nContent-Type: text/plain; charset=utf-8\n\nHere is my arm.\n"
        + "--B\nContent-Type: image/jpeg\nContent-Disposition: inline\n"
        + "Content-Transfer-Encoding: base64\n\n/9j/\n"
        + "--B\nContent-Type: text/plain; charset=utf-8\n\nThe rash spread after Humira.\n"
        + "--B\nContent-Type: text/plain; charset=utf-8\n"
        + "Content-Disposition: attachment; filename=log.txt\n\nlog\n--B--\n"
    ).encode()
    doc = _parse(raw)
    assert _kinds(doc)[1:] == [
        ("body", "Here is my arm.\n\nThe rash spread after Humira."),
        ("attachment", "log"),  # an attached text file is read, after the body, not as the body
    ]
    assert (doc.metadata["attachments"], doc.metadata["attachments_read"]) == ("2", "1")

"""Attachments refused by content (issue 14 item 1), obeyed by the running Rspamd milter.

Mail arrives over SMTP from another loopback address, as from another mail server; a
refused message gets a 5xx during DATA naming the class, and IMAP shows what arrived.
The payloads lie about themselves: an ELF program named report.txt and declared
text/plain, a PDF named photo.jpg, a script inside an attached message.
"""
from __future__ import annotations

import io
import smtplib
import uuid
import zipfile
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest

from core.services.server import settings
from tests.helpers import imap_login, new_address, png, wait_for_subject

from .server_support import defaults  # noqa: F401  (every setting back to its default afterwards)

SOURCE = "127.0.0.95"  # this file's own "outside" mail server
ELF = Path("/usr/bin/true").read_bytes()
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00" + bytes(4080)
SCRIPT = b"#!/bin/sh\nrm -rf \"$HOME\"/Documents\necho done\n"
RAR = b"Rar!\x1a\x07\x01\x00" + bytes(range(256)) * 8
PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages "
       b"/Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


def docx() -> bytes:
    """A minimal Office Open XML document: a zip with word/document.xml."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.'
                         'openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("word/document.xml", "<w:document><w:body>Minutes</w:body></w:document>")
    return out.getvalue()


def letter(to: list[str], subject: str, payload: bytes | None = None, filename: str = "",
           ctype: str = "application/octet-stream") -> EmailMessage:
    """An ordinary message, with PAYLOAD attached as FILENAME declared CTYPE."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "sender@outside.example", ", ".join(to), subject
    msg["Date"], msg["Message-ID"] = formatdate(), make_msgid(domain="outside.example")
    msg.set_content("The minutes of Tuesday's meeting, see you next week.\n")
    if payload is not None:
        maintype, subtype = ctype.split("/")
        if maintype == "text":
            msg.add_attachment(payload.decode("latin-1"), subtype=subtype, filename=filename,
                               cte="base64")
        else:
            msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def send(cfg: dict, to: list[str], msg: EmailMessage) -> None:
    with smtplib.SMTP(cfg["LISTEN_ADDRESS"], int(cfg["SMTP_PORT"]), local_hostname="mx.outside.example",
                      timeout=60, source_address=(SOURCE, 0)) as conn:
        conn.send_message(msg, "sender@outside.example", to)


def refusal(cfg: dict, to: list[str], msg: EmailMessage) -> str:
    """Send MSG and return the SMTP refusal's text (fail if it was accepted)."""
    with pytest.raises(smtplib.SMTPDataError) as caught:
        send(cfg, to, msg)
    assert caught.value.smtp_code == 554, caught.value
    text = caught.value.smtp_error.decode()
    assert text.startswith("5.7.1"), text
    return text


def configure(cfg: dict, stack_db, **texts: str) -> None:
    with stack_db.factory() as session:
        outcome = settings.update(session, cfg, texts, "tests")
    assert not outcome.pending, outcome


def subject(label: str) -> str:
    return f"Attachment {label} {uuid.uuid4().hex[:8]}"


def absent(cfg: dict, address: str, subjects: list[str]) -> None:
    """None of SUBJECTS reached ADDRESS's INBOX."""
    client = imap_login(cfg, address)
    try:
        client.select_folder("INBOX", readonly=True)
        for text in subjects:
            assert client.search(["SUBJECT", text]) == [], f"{text!r} was delivered"
    finally:
        client.logout()


def test_an_elf_named_report_txt_is_refused_as_an_executable_and_nothing_is_delivered(
        mail_stack, stack_db, domain):
    anna, bert = new_address(stack_db, domain, "elfa"), new_address(stack_db, domain, "elfb")
    configure(mail_stack, stack_db, block_executables="on")
    blocked = subject("ELF")
    text = refusal(mail_stack, [anna, bert], letter([anna, bert], blocked, ELF, "report.txt", "text/plain"))
    assert "executable" in text and "elf" in text, text

    clean = subject("clean")
    send(mail_stack, [anna, bert], letter([anna, bert], clean, png(4, 4), "chart.png", "image/png"))
    for address in (anna, bert):
        wait_for_subject(mail_stack, address, clean)
        absent(mail_stack, address, [blocked])

    configure(mail_stack, stack_db, block_executables="off")
    allowed = subject("ELF allowed")
    send(mail_stack, [anna], letter([anna], allowed, ELF, "report.txt", "text/plain"))
    wait_for_subject(mail_stack, anna, allowed)


@pytest.mark.parametrize("payload,filename,kind,found", [
    (MACHO, "notes.txt", "executable", "macho"),
    (SCRIPT, "readme.txt", "executable", "script"),
    (RAR, "photo.jpg", "archive", "rar"),
])
def test_what_lua_magic_misses_is_found_by_its_leading_bytes(
        mail_stack, stack_db, domain, payload, filename, kind, found):
    rcpt = new_address(stack_db, domain, "magic")
    configure(mail_stack, stack_db, block_executables="on", block_archives="on")
    text = refusal(mail_stack, [rcpt], letter([rcpt], subject(found), payload, filename))
    assert kind in text and found in text, text


def test_a_docx_is_an_archive_refused_only_while_archives_are_blocked(mail_stack, stack_db, domain):
    rcpt = new_address(stack_db, domain, "docx")
    ctype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    configure(mail_stack, stack_db, block_executables="on")
    delivered = subject("docx passes")
    send(mail_stack, [rcpt], letter([rcpt], delivered, docx(), "minutes.docx", ctype))
    wait_for_subject(mail_stack, rcpt, delivered)

    configure(mail_stack, stack_db, block_archives="on")
    blocked = subject("docx refused")
    text = refusal(mail_stack, [rcpt], letter([rcpt], blocked, docx(), "minutes.docx", ctype))
    assert "archive" in text and "docx" in text, text
    absent(mail_stack, rcpt, [blocked])


def test_a_chosen_type_is_refused_by_its_name_whatever_the_file_is_called(mail_stack, stack_db, domain):
    rcpt = new_address(stack_db, domain, "custom")
    configure(mail_stack, stack_db, block_types="pdf, png")
    text = refusal(mail_stack, [rcpt], letter([rcpt], subject("pdf"), PDF, "photo.jpg", "image/jpeg"))
    assert "pdf attachments" in text, text

    configure(mail_stack, stack_db, block_types="")
    cleared = subject("pdf allowed")
    send(mail_stack, [rcpt], letter([rcpt], cleared, PDF, "photo.jpg", "image/jpeg"))
    wait_for_subject(mail_stack, rcpt, cleared)


def test_an_executable_inside_an_attached_message_is_refused(mail_stack, stack_db, domain):
    rcpt = new_address(stack_db, domain, "nested")
    configure(mail_stack, stack_db, block_executables="on")
    inner = letter([rcpt], "forwarded", SCRIPT, "readme.txt", "text/plain")
    outer = letter([rcpt], subject("nested"))
    outer.add_attachment(inner)  # message/rfc822
    text = refusal(mail_stack, [rcpt], outer)
    assert "executable" in text and "script" in text, text

"""Disclaimers added by the real filter in Postfix's outgoing path (stack/filter).

Mail is sent by a plain smtplib client over submission (or from "outside" on the
inbound port) and read back from Dovecot over IMAP; the MIME structure and bytes of
what arrived are checked without our own MIME code. The filter being down is a fault
test (tests/faults).
"""
from __future__ import annotations

import email
import ssl
import re
import smtplib
import subprocess
import tempfile
import uuid
from email import policy

import pytest

from core.mail.disclaimer import MARKER
from core.services.directory import disclaimers, lookup
from tests.helpers import PASSWORD, new_address, submit, wait_for_subject

OUTSIDE = "127.0.0.60"  # not in mynetworks: another server on the internet
OUTSIDE_FILTER = "127.0.0.61"
ACTOR = "tests@example.test"
TEXT = "**Confidential**: meant for the addressee only. Ref {token}"


@pytest.fixture(scope="module")
def disclaimer_domain(stack_db) -> str:
    """A domain of its own (other tests' mail stays untouched) with a disclaimer on."""
    name = f"disclaimer-{uuid.uuid4().hex[:8]}.test"
    with stack_db.transaction() as session:
        lookup.add_domain(session, name)
    set_text(stack_db, name, True, "one")
    return name


def set_text(stack_db, domain: str, enabled: bool, token: str) -> None:
    """Change DOMAIN's disclaimer through the service, as the admin page does."""
    with stack_db.transaction() as session:
        disclaimers.set_disclaimer(session, domain, enabled, TEXT.format(token=token), actor=ACTOR)


@pytest.fixture
def people(stack_db, disclaimer_domain, domain):
    """A sender on the disclaimer domain and a recipient on the plain test domain."""
    return new_address(stack_db, disclaimer_domain, "staff"), new_address(stack_db, domain, "rcpt")


def raw_message(sender: str, to: str, subject: str, body: bytes,
                content: bytes = b"Content-Type: text/plain; charset=utf-8\r\n"
                                 b"Content-Transfer-Encoding: 8bit\r\n") -> bytes:
    """A message built by hand, CRLF line ends, with an 8-bit body."""
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@test>\r\nMIME-Version: 1.0\r\n").encode() \
        + content + b"\r\n" + body


def send_submission(cfg: dict, sender: str, to: str, raw: bytes) -> None:
    """A plain smtplib client: STARTTLS, AUTH, MAIL with BODY=8BITMIME, DATA."""
    with smtplib.SMTP(cfg["SUBMISSION_HOST"], cfg["SUBMISSION_PORT"], local_hostname="localhost",
                      timeout=30) as smtp:
        smtp.starttls(context=_tls(cfg))
        smtp.login(sender, PASSWORD)
        smtp.sendmail(sender, [to], raw, mail_options=["BODY=8BITMIME"])


def _tls(cfg: dict) -> ssl.SSLContext:
    """A client context that trusts the stack's own certificate."""
    return ssl.create_default_context(cafile=cfg["TLS_CA_FILE"])


def top_parts(raw: bytes) -> list[bytes]:
    """The raw entities directly under RAW's top-level multipart, split at its boundary."""
    message = email.message_from_bytes(raw, policy=policy.compat32)
    boundary = re.escape(message.get_boundary().encode())
    body = raw.split(b"\r\n\r\n", 1)[1]
    chunks = re.split(rb"\r\n--" + boundary + rb"(?:--)?[ \t]*\r\n", b"\r\n" + body)
    return chunks[1:-1]  # without preamble and epilogue


def marked_parts(raw: bytes, domain: str) -> list:
    """The parts right under the top level that carry DOMAIN's disclaimer marker."""
    message = email.message_from_bytes(raw, policy=policy.default)
    if not message.is_multipart():
        return []
    return [part for part in message.iter_parts() if part.get(MARKER, "").strip() == domain]


def test_submitted_mail_gets_the_disclaimer_as_an_extra_part(mail_stack, people, disclaimer_domain):
    sender, rcpt = people
    subject = f"disclaimer {uuid.uuid4().hex}"
    body = "Grüße aus dem Büro.\r\n\r\nLine two, ünïcödé, 8-bit.\r\n".encode()
    original = raw_message(sender, rcpt, subject, body)
    send_submission(mail_stack, sender, rcpt, original)
    arrived = wait_for_subject(mail_stack, rcpt, subject)

    message = email.message_from_bytes(arrived, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    assert message["Subject"] == subject and message["From"] == sender
    first = top_parts(arrived)[0]
    assert first == (b"Content-Type: text/plain; charset=utf-8\r\n"
                     b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)  # byte for byte
    [part] = marked_parts(arrived, disclaimer_domain)
    assert part.get_content_type() == "multipart/alternative"
    text, html = (p.get_content() for p in part.iter_parts())
    assert "Confidential: meant for the addressee only. Ref one" in text
    assert "<strong>Confidential</strong>: meant for the addressee only." in html


def test_signed_message_still_verifies(mail_stack, people, disclaimer_domain):
    sender, rcpt = people
    subject = f"signed {uuid.uuid4().hex}"
    signed = smime_signed("Content-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: 8bit\r\n\r\nSigned, sealed, délivered.\r\n")
    head = f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n".encode()
    send_submission(mail_stack, sender, rcpt, head + signed)
    arrived = wait_for_subject(mail_stack, rcpt, subject)

    assert len(marked_parts(arrived, disclaimer_domain)) == 1
    entity = top_parts(arrived)[0]
    assert entity.startswith(b"Content-Type: multipart/signed;")
    assert smime_verifies(b"MIME-Version: 1.0\r\n" + entity)
    tampered = entity.replace(b"sealed", b"SEALED")
    assert not smime_verifies(b"MIME-Version: 1.0\r\n" + tampered)  # the check can fail


def smime_signed(entity: str) -> bytes:
    """A detached S/MIME signature over ENTITY (a fresh self-signed key), as a message."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Disclaimer test signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    return (pkcs7.PKCS7SignatureBuilder().set_data(entity.encode())
            .add_signer(cert, key, hashes.SHA256()).sign(serialization.Encoding.SMIME, options))


def smime_verifies(message: bytes) -> bool:
    """Whether OpenSSL finds the S/MIME signature of MESSAGE intact (no trust chain)."""
    with tempfile.NamedTemporaryFile(suffix=".eml") as handle:
        handle.write(message)
        handle.flush()
        result = subprocess.run(["openssl", "smime", "-verify", "-noverify", "-in", handle.name,
                                 "-out", "/dev/null"], capture_output=True, check=False)
    return result.returncode == 0


def test_second_pass_does_not_add_it_twice(mail_stack, stack_db, people, disclaimer_domain):
    sender, rcpt = people
    subject = f"twice {uuid.uuid4().hex}"
    send_submission(mail_stack, sender, rcpt, raw_message(sender, rcpt, subject, b"Once.\r\n"))
    first = wait_for_subject(mail_stack, rcpt, subject)
    again = new_address(stack_db, disclaimer_domain, "again")
    resent = first.replace(subject.encode(), f"re{subject}".encode())
    send_submission(mail_stack, sender, again, resent)
    second = wait_for_subject(mail_stack, again, f"re{subject}")

    assert len(marked_parts(second, disclaimer_domain)) == 1
    assert top_parts(second) == top_parts(first)


def test_change_applies_to_next_message_and_off_leaves_mail_unchanged(
        mail_stack, stack_db, people, disclaimer_domain):
    sender, rcpt = people
    set_text(stack_db, disclaimer_domain, True, "two")
    subject = f"changed {uuid.uuid4().hex}"
    submit(mail_stack, sender, rcpt, subject)  # the store the webmail sends with
    [part] = marked_parts(wait_for_subject(mail_stack, rcpt, subject), disclaimer_domain)
    assert "Ref two" in part.get_body(("plain",)).get_content()

    try:
        set_text(stack_db, disclaimer_domain, False, "two")
        subject = f"off {uuid.uuid4().hex}"
        body = "Kein Zusatz, bitte.\r\n".encode()
        send_submission(mail_stack, sender, rcpt, raw_message(sender, rcpt, subject, body))
        arrived = wait_for_subject(mail_stack, rcpt, subject)
    finally:
        set_text(stack_db, disclaimer_domain, True, "one")
    assert_unchanged(arrived, body)


def assert_unchanged(arrived: bytes, body: bytes) -> None:
    """ARRIVED is still the single text/plain entity with exactly BODY."""
    message = email.message_from_bytes(arrived, policy=policy.default)
    assert message.get_content_type() == "text/plain" and MARKER not in arrived.decode(errors="replace")
    assert arrived.split(b"\r\n\r\n", 1)[1] == body


def test_domain_without_disclaimer_is_unchanged(mail_stack, stack_db, domain):
    sender, rcpt = new_address(stack_db, domain, "plain"), new_address(stack_db, domain, "rcpt")
    subject = f"plain {uuid.uuid4().hex}"
    body = "Nothing to add here — ünïcödé.\r\n".encode()
    send_submission(mail_stack, sender, rcpt, raw_message(sender, rcpt, subject, body))
    assert_unchanged(wait_for_subject(mail_stack, rcpt, subject), body)


def test_inbound_mail_from_outside_never_gets_it(mail_stack, people, disclaimer_domain):
    sender, rcpt = people
    subject = f"inbound {uuid.uuid4().hex}"
    body = b"From another server.\r\n"
    with smtplib.SMTP(mail_stack["LISTEN_ADDRESS"], mail_stack["SMTP_PORT"], local_hostname="localhost",
                      timeout=30, source_address=(OUTSIDE, 0)) as smtp:
        smtp.sendmail(sender, [rcpt], raw_message(sender, rcpt, subject, body))
    assert_unchanged(wait_for_subject(mail_stack, rcpt, subject), body)


def test_filter_and_reinjection_ports_refuse_other_clients(mail_stack, people):
    sender, rcpt = people
    for port in ("FILTER_PORT", "REINJECT_PORT"):
        with smtplib.SMTP(mail_stack["LISTEN_ADDRESS"], mail_stack[port], local_hostname="localhost",
                          timeout=30, source_address=(OUTSIDE_FILTER, 0)) as smtp:
            with pytest.raises(smtplib.SMTPException):
                smtp.sendmail(sender, ["someone@elsewhere.example"], b"Subject: relay?\r\n\r\nx\r\n")

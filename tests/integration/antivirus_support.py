"""Helpers for the antivirus tests: a message carrying the EICAR test string, the setting."""
from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from core.services.server import settings

# The EICAR anti-virus test file (eicar.org): harmless, and every scanner reports it.
# The stack's clamd knows it from stack/templates/clamav/mailroom-test.ndb.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
VIRUS_NAME = b"Mailroom.Test.EICAR"


def with_attachment(sender: str, to: str, subject: str, payload: bytes,
                    filename: str = "invoice.pdf") -> bytes:
    """A message whose attachment (declared a PDF, base64) holds PAYLOAD."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"], msg["Message-ID"] = formatdate(), make_msgid(domain="outside.example")
    msg.set_content("The invoice for November is attached.\n")
    msg.add_attachment(payload, maintype="application", subtype="pdf", filename=filename)
    return bytes(msg)


def unique(label: str) -> str:
    """A subject no other test uses."""
    return f"{label} {uuid.uuid4().hex[:10]}"


def set_antivirus(cfg: dict, db, on: bool) -> None:
    """Store and apply the antivirus setting as the tests' actor."""
    with db.factory() as session:
        settings.update(session, cfg, {"antivirus": "on" if on else "off"}, "tests")

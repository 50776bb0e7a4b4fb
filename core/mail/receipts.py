"""Read receipts (RFC 8098 message disposition notifications) and message priority.

Pure functions over the stdlib `email` package: the headers a message asks with, and
the MDN that answers it. Sending and flagging are the service's business.
"""
from __future__ import annotations

import email.utils
import re
import secrets
from email.headerregistry import Address
from email.message import EmailMessage, Message

from core.models import InvalidName, normalize_address

RECEIPT_HEADER = "Disposition-Notification-To"
MDN_SENT = "$MDNSent"  # RFC 3503: set once a receipt was sent, or the reader declined
# X-Priority (1 highest … 5 lowest) is what most clients read; Importance (RFC 2156) the rest.
PRIORITIES = {"high": ("1 (Highest)", "high"), "low": ("5 (Lowest)", "low")}
PRIORITY_FIELDS = ("X-Priority", "Importance")


def set_priority(msg: EmailMessage, priority: str) -> None:
    """Mark MSG 'high' or 'low' priority; anything else leaves it normal (no header)."""
    if priority in PRIORITIES:
        msg["X-Priority"], msg["Importance"] = PRIORITIES[priority]


def priority_of(x_priority: str, importance: str = "") -> str:
    """'high', 'low' or '' from the two headers' values ('2 (High)' counts as high).

    >>> priority_of("1 (Highest)"), priority_of("", "Low"), priority_of("3")
    ('high', 'low', '')
    """
    digit = re.match(r"\s*([1-5])", x_priority or "")
    if digit:
        return {"1": "high", "2": "high", "4": "low", "5": "low"}.get(digit.group(1), "")
    value = (importance or "").strip().lower()
    return value if value in ("high", "low") else ""


def priority_from_header_block(block: bytes) -> str:
    """The priority of a fetched 'BODY[HEADER.FIELDS (X-PRIORITY IMPORTANCE)]' block."""
    text = (block or b"").decode("ascii", errors="replace")
    fields = {}
    for line in re.split(r"\r?\n(?![ \t])", text):
        name, sep, value = line.partition(":")
        if sep:
            fields.setdefault(name.strip().lower(), value.strip())
    return priority_of(fields.get("x-priority", ""), fields.get("importance", ""))


def receipt_address(msg: Message) -> str:
    """Where MSG asks a receipt to go (one normalised address), or ''."""
    try:
        pairs = email.utils.getaddresses([str(v) for v in msg.get_all(RECEIPT_HEADER, [])])
        return normalize_address(pairs[0][1]) if len(pairs) == 1 else ""
    except (InvalidName, ValueError, LookupError, AttributeError, IndexError):
        return ""


def _ascii(value: str) -> str:
    """One header line in printable ASCII (the report part is 7bit, RFC 8098 §3)."""
    return "".join(c for c in " ".join(str(value or "").split()) if " " <= c <= "~")


def _notification(reporting_host: str, reader: str, original: Message) -> Message:
    """The machine-readable part, message/disposition-notification (RFC 8098 §3.1)."""
    fields = [("Reporting-UA", f"{_ascii(reporting_host)}; Mailroom")]
    original_recipient = _ascii(original.get("Original-Recipient", ""))
    if ";" in original_recipient:
        fields.append(("Original-Recipient", original_recipient))
    fields.append(("Final-Recipient", f"rfc822;{reader}"))
    message_id = _ascii(original.get("Message-ID", ""))
    if message_id:
        fields.append(("Original-Message-ID", message_id))
    fields.append(("Disposition", "manual-action/MDN-sent-manually; displayed"))
    part = Message()
    part["Content-Type"] = "message/disposition-notification"
    part["Content-Transfer-Encoding"] = "7bit"
    # A str payload is written out as it is: the fields are a header block of their own.
    part.set_payload("".join(f"{name}: {value}\r\n" for name, value in fields))
    return part


def build_mdn(original: Message, reader: str, reader_name: str, reporting_host: str,
              policy) -> EmailMessage:
    """The receipt for ORIGINAL, read by READER: multipart/report (RFC 8098 §3, RFC 6522).

    A human-readable text part, then the disposition-notification part; sent "manually"
    because the reader chose to (RFC 8098 §2.1: never automatically).
    """
    to = receipt_address(original)
    subject = _ascii(original.get("Subject", "")) if str(original.get("Subject", "")).isascii() \
        else ""
    when = _ascii(original.get("Date", ""))
    msg = EmailMessage(policy=policy)
    msg["Date"] = email.utils.format_datetime(email.utils.localtime())
    msg["From"] = Address(display_name=" ".join(reader_name.split()), addr_spec=reader)
    msg["To"] = to
    msg["Subject"] = f"Read: {subject}" if subject else "Read receipt"
    msg["Message-ID"] = f"<{secrets.token_hex(16)}@{reader.rpartition('@')[2]}>"
    message_id = _ascii(original.get("Message-ID", ""))
    if message_id:
        msg["In-Reply-To"] = msg["References"] = message_id
    about = (f" on {when}" if when else "") + (f' with the subject "{subject}"' if subject else "")
    msg.set_content(
        f"This is a receipt for the message you sent to {reader}{about}.\n\n"
        "It was displayed on the recipient's screen. This is no guarantee that it was read "
        "or understood.\n")
    msg.make_mixed()
    msg.replace_header("Content-Type", "multipart/report")
    msg.set_param("report-type", "disposition-notification")
    msg.attach(_notification(reporting_host, reader, original))
    return msg

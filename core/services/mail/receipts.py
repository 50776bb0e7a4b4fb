"""Read receipts: whether to ask the reader, and the receipt they chose to send (RFC 8098).

A receipt is never sent without the reader's word (RFC 8098 §2.1 leaves it to them, and
an automatic one tells a spammer the address is read). Once sent or declined, the
message carries $MDNSent (RFC 3503), so no client asks again.
"""
from __future__ import annotations

import email.utils
import logging
from email import policy
from email.parser import BytesParser

from imapclient import IMAPClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.mail import actions, listing, smtp
from core.mail.compose import OUTGOING
from core.mail.errors import SmtpError
from core.mail.receipts import MDN_SENT, build_mdn, receipt_address
from core.models import ReceiptRefusal

from .identities import Identity, identities

log = logging.getLogger(__name__)


def _headers(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)


def refused(db: Session, address: str, sender: str) -> bool:
    """True when ADDRESS chose never to send receipts to SENDER."""
    return db.scalar(select(ReceiptRefusal.id).where(
        ReceiptRefusal.address == address, ReceiptRefusal.sender == sender)) is not None


def asks_receipt(db: Session, address: str, raw: bytes, flags: frozenset[str]) -> str:
    """Where the message RAW wants a receipt, when ADDRESS should be asked; else ''.

    Not asked: no request, already answered ($MDNSent), one's own message, or a sender
    the reader refused for good.
    """
    target = receipt_address(_headers(raw))
    if not target or MDN_SENT in flags:
        return ""
    own = {i.address for i in identities(db, address)}
    if target in own or refused(db, address, target):
        return ""
    return target


def _reader(db: Session, address: str, original) -> Identity:
    """The identity the message reached: the one among To/Cc, else the default."""
    choices = identities(db, address)
    named = {a.lower() for _, a in _recipients(original)}
    return next((i for i in choices if i.address in named), choices[0])


def _recipients(original) -> list[tuple[str, str]]:
    values = [str(v) for name in ("To", "Cc") for v in original.get_all(name, [])]
    return email.utils.getaddresses(values)


def send_receipt(client: IMAPClient, db: Session, cfg: dict, login: tuple[str, str],
                 folder: str, uid: int) -> str:
    """Send the receipt for UID of FOLDER through submission, mark it $MDNSent; the recipient."""
    listing.select(client, folder)
    original = _headers(actions.raw_message(client, uid))
    target = receipt_address(original)
    if not target:
        raise SmtpError(_l("This message does not ask for a read receipt."))
    reader = _reader(db, login[0], original)
    mdn = build_mdn(original, reader.address, reader.name, cfg["MAIL_HOSTNAME"], OUTGOING)
    # RFC 8098 §3: an MDN goes out with the null return path, so nothing answers it.
    smtp.send(smtp.SmtpSettings.submission(cfg), mdn, login=login, envelope_from="")
    actions.set_flag(client, [uid], "mdnsent", True)
    log.info("read receipt for %s sent to %s", login[0], target)
    return target


def decline(client: IMAPClient, db: Session, address: str, folder: str, uid: int,
            never: bool = False) -> None:
    """Send no receipt for UID; NEVER: never ask again about its receipt address."""
    listing.select(client, folder)
    target = receipt_address(_headers(actions.raw_message(client, uid)))
    actions.set_flag(client, [uid], "mdnsent", True)
    if never and target and not refused(db, address, target):
        db.add(ReceiptRefusal(address=address, sender=target))
        db.commit()

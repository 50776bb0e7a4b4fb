"""One-time set-password links: a new mailbox's owner chooses the password themselves."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import passwords
from core.i18n import lazy_gettext as _l
from core.models import Mailbox, PasswordLink
from core.services.access import audit, signin
from core.services.errors import InvalidInput, NotFound

VALID_FOR = timedelta(days=7)
EXPIRED = _l("This link has expired or has been used already. Ask your administrator for a new one.")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_link(db: Session, actor: str, mailbox: Mailbox) -> str:
    """A fresh token for MAILBOX (earlier links stop working); only its hash is stored."""
    db.execute(delete(PasswordLink).where(PasswordLink.mailbox_id == mailbox.id))
    token = secrets.token_urlsafe(32)
    db.add(PasswordLink(mailbox_id=mailbox.id, token_hash=_digest(token),
                        expires_at=datetime.now(timezone.utc) + VALID_FOR))
    db.flush()
    audit.record(db, actor, "update", "mailbox", mailbox.address, domain=mailbox.domain.name,
                 before={"set_password_link": None},
                 after={"set_password_link": f"valid for {VALID_FOR.days} days"})
    return token


def _link(db: Session, token: str) -> PasswordLink:
    link = db.scalar(select(PasswordLink).where(PasswordLink.token_hash == _digest(token or "")))
    if link is None:
        raise NotFound(EXPIRED)
    expires = link.expires_at if link.expires_at.tzinfo else \
        link.expires_at.replace(tzinfo=timezone.utc)
    if expires < datetime.now(timezone.utc):
        raise NotFound(EXPIRED)
    return link


def mailbox_for(db: Session, token: str) -> Mailbox:
    """The mailbox a valid, unused TOKEN belongs to; NotFound otherwise."""
    return _link(db, token).mailbox


def redeem(db: Session, token: str, password: str) -> Mailbox:
    """Set the password through TOKEN and use the link up."""
    link = _link(db, token)
    mailbox = link.mailbox
    try:
        passwords.check_rules(password, mailbox.address)
    except passwords.WeakPassword as exc:
        raise InvalidInput(_l('Password refused: %(exc)s', exc=exc)) from exc
    mailbox.password_hash = passwords.hash_password(password)
    db.delete(link)
    db.flush()
    # A reset link is how an admin recovers a compromised account: sign everyone out.
    signin.end_sessions(db, mailbox.address)
    audit.record(db, mailbox.address, "update", "mailbox", mailbox.address,
                 domain=mailbox.domain.name, before={"password": "(not set)"},
                 after={"password": "(set through the one-time link)"})
    return mailbox

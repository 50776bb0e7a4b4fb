"""Signing in and out: IMAP LOGIN is the check, the credential is sealed server-side.

With two-factor sign-in on, the password passes first (Dovecot takes it from the web app
only, with the app's key), then a code; such a session then holds its own credential
(app_passwords.issue_web_credential) instead of the password: Dovecot refuses the main
password over ManageSieve and SMTP AUTH, which the portal and compose use too.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from imapclient import IMAPClient
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from core import vault
from core.i18n import lazy_gettext as _l
from core.mail import imap
from core.mail.errors import AuthenticationFailed, MailError
from core.models import AppPassword, InvalidName, WebSession, normalize_address
from core.models.base import utcnow

from . import app_passwords, twofactor

GENERIC_FAILURE = _l("Wrong address or password.")
# The longest address RFC 5321 allows; a longer unparseable text keys a limit no further.
MAX_KEY_TEXT = 320
# Writing last_seen_at on every request would serialise all requests on SQLite.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass
class SignedIn:
    """The outcome of a sign-in: the session id, the cookie's key and a live connection."""

    session_id: str
    key: str
    address: str
    client: IMAPClient


def limit_key(address: str) -> str:
    """The key that counts guesses at ADDRESS: the address it would sign in as.

    Sign-in normalises (case, trailing dots, IDNA mapping of soft hyphens and
    full-width letters), so every spelling of one mailbox must share one count.
    Text that is no address gets a key of its own, so it is limited too.

    >>> limit_key("Anna@EXAMPLE.test..")
    'address:anna@example.test'
    """
    try:
        return "address:" + normalize_address(address)
    except InvalidName:
        return "unparsed:" + (address or "").strip().lower()[:MAX_KEY_TEXT]


@dataclass
class CodeNeeded:
    """The password of ADDRESS passed; two-factor sign-in asks a code next."""

    address: str


def sign_in(db: Session, settings: imap.ImapSettings, address: str, password: str,
            client_ip: str | None, wait: float | None = None) -> SignedIn | CodeNeeded:
    """Check ADDRESS/PASSWORD by IMAP LOGIN and open a web session, or say that a code
    is needed first (CodeNeeded) when ADDRESS has two-factor sign-in.

    Raises AuthenticationFailed with one generic message for an unknown address
    and a wrong password alike, LoginDelayed when the server has not answered the
    LOGIN within WAIT seconds (it delays a client address that failed before).
    """
    try:
        address = normalize_address(address)
    except InvalidName as exc:
        raise AuthenticationFailed(GENERIC_FAILURE) from exc
    if not password:
        raise AuthenticationFailed(GENERIC_FAILURE)
    try:
        client = imap.login(settings, address, password, client_ip, wait)
    except AuthenticationFailed as exc:
        raise AuthenticationFailed(GENERIC_FAILURE) from exc
    if twofactor.is_on(db, address):
        imap.close(client)
        return CodeNeeded(address)
    return start_session(db, address, password, client)


def finish_with_code(db: Session, settings: imap.ImapSettings, address: str, code: str,
                     client_ip: str | None, wait: float | None = None) -> SignedIn:
    """Open ADDRESS's web session once CODE (TOTP or recovery code) is right; its
    password passed before (CodeNeeded). AuthenticationFailed on a wrong code, or when
    the IMAP server refuses the session's credential (the mailbox was disabled meanwhile)."""
    if not twofactor.check_code(db, address, code):
        raise AuthenticationFailed(twofactor.WRONG_CODE)
    key = vault.new_key()
    session = WebSession(id=secrets.token_urlsafe(32), address=address, sealed_credential=b"",
                         last_seen_at=utcnow())
    db.add(session)
    db.flush()
    seal_web_credential(db, session, key)
    db.commit()
    try:
        client = imap.login(settings, address, credential(db, session.id, key), client_ip, wait)
    except MailError as exc:
        sign_out(db, session.id)
        if isinstance(exc, AuthenticationFailed):
            raise AuthenticationFailed(GENERIC_FAILURE) from exc
        raise
    return SignedIn(session.id, key, address, client)


def seal_web_credential(db: Session, session: WebSession, key: str) -> None:
    """Give web SESSION a credential of its own, sealed with the cookie's KEY (in the
    caller's transaction): from now on it never needs the person's password."""
    db.execute(delete(AppPassword).where(AppPassword.web_session_id == session.id))
    session.sealed_credential = vault.seal(
        key, app_passwords.issue_web_credential(db, session.address, session.id))


def has_web_credential(db: Session, session_id: str) -> bool:
    """True when web session SESSION_ID holds its own credential, not the password."""
    return db.scalar(select(AppPassword.id).where(AppPassword.web_session_id == session_id)) is not None


def start_session(db: Session, address: str, password: str, client: IMAPClient) -> SignedIn:
    """Open (and commit) a web session for ADDRESS whose IMAP login PASSWORD just passed."""
    key = vault.new_key()
    session = WebSession(
        id=secrets.token_urlsafe(32), address=address,
        sealed_credential=vault.seal(key, password), last_seen_at=utcnow(),
    )
    db.add(session)
    db.commit()
    return SignedIn(session.id, key, address, client)


def lifetimes(cfg) -> tuple[timedelta, timedelta]:
    """(idle, max_age) of a web session from the configuration."""
    return (timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]),
            timedelta(hours=cfg["SESSION_MAX_HOURS"]))


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def active_session(db: Session, session_id: str, idle: timedelta,
                   max_age: timedelta) -> WebSession | None:
    """The web session SESSION_ID if it has not been idle longer than IDLE and is
    younger than MAX_AGE (a stolen cookie that is kept busy still expires)."""
    session = db.get(WebSession, session_id)
    if session is None:
        return None
    now = utcnow()
    if now - _aware(session.last_seen_at) > idle or now - _aware(session.created_at) > max_age:
        db.delete(session)
        db.commit()
        return None
    if now - _aware(session.last_seen_at) > TOUCH_EVERY:
        session.last_seen_at = now
        db.commit()
    return session


def credential(db: Session, session_id: str, key: str) -> str:
    """The password sealed in web session SESSION_ID, opened with the cookie's KEY."""
    session = db.get(WebSession, session_id)
    if session is None:
        raise vault.VaultError("the web session has ended")
    return vault.unseal(key, session.sealed_credential)


def sign_out(db: Session, session_id: str) -> None:
    """Forget the web session (its sealed credential goes with it)."""
    db.execute(delete(WebSession).where(WebSession.id == session_id))
    db.commit()


def all_session_ids(db: Session) -> set[str]:
    """The ids of every open web session."""
    return set(db.scalars(select(WebSession.id)))


def session_ids(db: Session, address: str) -> list[str]:
    """The ids of ADDRESS's open web sessions."""
    return list(db.scalars(select(WebSession.id).where(WebSession.address == address)))


def end_sessions(db: Session, address: str, keep: str | None = None) -> list[str]:
    """End every web session of ADDRESS except KEEP, in the caller's transaction;
    return the ids ended."""
    ended = [i for i in session_ids(db, address) if i != keep]
    if ended:
        db.execute(delete(WebSession).where(WebSession.id.in_(ended)))
        db.flush()
    return ended


def purge_expired(db: Session, idle: timedelta, max_age: timedelta) -> int:
    """Delete sessions idle longer than IDLE or older than MAX_AGE; return how many."""
    now = utcnow()
    result = db.execute(delete(WebSession).where(or_(WebSession.last_seen_at < now - idle,
                                                     WebSession.created_at < now - max_age)))
    db.commit()
    return result.rowcount or 0


def session_exists(db: Session, session_id: str) -> bool:
    """True while web session SESSION_ID has not been signed out (reads, never touches it)."""
    found = db.scalar(select(WebSession.id).where(WebSession.id == session_id)) is not None
    db.rollback()  # end the read: a long-lived caller must not hold a transaction open
    return found

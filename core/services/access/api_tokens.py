"""API tokens: named, scoped, shown once, stored as SHA-256, revocable, last use recorded.

A token's scopes say what it may ask for; what it may reach is decided at each use by
its owner's rights at that moment (core/services/access/roles.py), so a domain admin
who is demoted loses the admin scope's reach at once and a disabled or removed mailbox
makes its tokens useless. A directory user's token (issue 19) is checked against the
live directory at each use: it stops working once the person is removed or disabled
there, or the address is given to someone else. A token with a personal scope gets an internal app password
for ManageSieve (filters, vacation), sealed with a key derived from the token itself:
like a web session's credential, the database alone cannot open it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import vault
from core.config import uses_ldap
from core.i18n import lazy_gettext as _l
from core.ldapdir import listing
from core.ldapdir.people import DirectoryUnavailable
from core.mail.errors import ServiceUnavailable
from core.models import ApiToken, Mailbox
from core.models.base import utcnow
from core.services.errors import InvalidInput, NotFound
from core.services.personal.holder import DIRECTORY

from . import app_passwords

PREFIX = "mrt_"  # lets secret scanners and people recognise a Mailroom token
MAX_NAME = 100
MAX_DAYS = 3650
# A token's last use is written when it is older than this or from another address: a
# client calling every second would otherwise write the database on each request
# (SQLite: a write lock that delivery's lookups wait behind).
USE_RECORD_SECONDS = 60
# Each scope, what it allows, in the order the form lists them.
SCOPES = {
    "personal:read": _l("read your own settings (filters, vacation, forwarding, Junk)"),
    "personal": _l("read and change your own settings"),
    "admin:read": _l("read what you administer (domains, mailboxes, aliases, …)"),
    "admin": _l("read and change what you administer"),
}
ADMIN_SCOPES = frozenset({"admin", "admin:read"})
PERSONAL_SCOPES = frozenset({"personal", "personal:read"})


class TokenRefused(Exception):
    """A bearer token that is unknown, revoked, expired or whose owner may no longer sign in."""


@dataclass(frozen=True)
class Created:
    """A new token: the row, and the secret (shown once, never stored)."""

    token: ApiToken
    secret: str


def token_hash(secret: str) -> str:
    """The SHA-256 a token is found by (a random 256-bit secret needs no slow hash)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _seal_key(secret: str) -> str:
    """The Fernet key sealing the token's mail credential: derived from the token, and
    not its stored hash."""
    digest = hmac.new(secret.encode("utf-8"), b"mailroom api credential", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def allows(scopes: str, family: str, write: bool) -> bool:
    """Whether SCOPES (as stored) let a request of FAMILY ('admin', 'personal') through;
    FAMILY itself allows writing, FAMILY:read only reading."""
    held = set(scopes.split())
    return family in held or (not write and f"{family}:read" in held)


def check_scopes(chosen: list[str], may_administer: bool) -> str:
    """The chosen scopes as stored; InvalidInput for none, an unknown one, or an admin
    scope chosen by someone who administers nothing."""
    picked = [scope for scope in SCOPES if scope in set(chosen)]
    unknown = sorted(set(chosen) - set(SCOPES))
    if unknown:
        raise InvalidInput(_l("There is no scope %(scope)s: choose from %(scopes)s.",
                                scope=repr(unknown[0]), scopes=", ".join(SCOPES)))
    if not picked:
        raise InvalidInput(_l("Choose at least one scope: what the token may do."))
    if ADMIN_SCOPES & set(picked) and not may_administer:
        raise InvalidInput(_l("Only admins can give a token an admin scope."))
    return " ".join(picked)


def _check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(_l("Give the token a name of 1 to %(max)s characters, such as the "
                              "program or script that will use it.", max=MAX_NAME))
    return name


def _expiry(days: str) -> datetime | None:
    text = (days or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise InvalidInput(_l("Give the days the token lasts as a whole number from 1 to %(max)s, "
                              "or leave it empty for a token that does not expire.", max=MAX_DAYS))
    return utcnow() + timedelta(days=int(text))


def _directory_user(cfg: dict, address: str):
    """The directory user at ADDRESS now (None: nobody); ServiceUnavailable while the
    directory cannot be read."""
    try:
        return listing.user_at(cfg, address)
    except DirectoryUnavailable as exc:
        raise ServiceUnavailable(DIRECTORY, str(exc)) from exc


def _owner_id(db: Session, cfg: dict | None, address: str) -> str | None:
    """None for the database mailbox at ADDRESS, the stable id of the directory user
    there (CFG with a directory); NotFound for neither."""
    if db.scalar(select(Mailbox.id).where(Mailbox.address == address)) is not None:
        return None
    person = _directory_user(cfg, address) if cfg is not None and uses_ldap(cfg) else None
    if person is None:
        raise NotFound(_l("There is no mailbox %(address)s.", address=address))
    return person.id


def create(db: Session, address: str, name: str, chosen: list[str], days: str,
           may_administer: bool, cfg: dict | None = None) -> Created:
    """Make (and commit) a token for ADDRESS (a database mailbox, or with CFG's directory
    a directory user); the secret is returned once.

    Names are unique among the person's tokens that are not revoked: they tell them apart,
    and a form sent again (a reload of the page that showed the token) makes no second one.
    """
    name = _check_name(name)
    if any(t.name.casefold() == name.casefold() and t.revoked_at is None for t in listed(db, address)):
        raise InvalidInput(_l("You already have a token named “%(name)s”: choose another name, or "
                              "revoke that one first.", name=name))
    row = ApiToken(address=address, name=name, directory_id=_owner_id(db, cfg, address),
                   scopes=check_scopes(chosen, may_administer), expires_at=_expiry(days))
    secret = PREFIX + secrets.token_urlsafe(32)
    row.token_hash = token_hash(secret)
    db.add(row)
    db.flush()
    if PERSONAL_SCOPES & set(row.scopes.split()):
        password = app_passwords.issue_api_credential(db, address, row.id)
        row.sealed_credential = vault.seal(_seal_key(secret), password)
    db.commit()
    return Created(row, secret)


def listed(db: Session, address: str) -> list[ApiToken]:
    """ADDRESS's tokens that still work or were revoked, newest first."""
    return list(db.scalars(select(ApiToken).where(ApiToken.address == address)
                           .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def state(row: ApiToken) -> str:
    """'revoked', 'expired' or 'active'."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and _aware(row.expires_at) <= utcnow():
        return "expired"
    return "active"


def revoke(db: Session, address: str, token_id: int) -> str:
    """Revoke (and commit) ADDRESS's token TOKEN_ID; return its name. Its next request
    gets 401, and its mail credential is deleted."""
    row = db.get(ApiToken, token_id)
    if row is None or row.address != address or row.revoked_at is not None:
        raise NotFound(_l("There is no such token."))
    end(db, row)
    db.commit()
    return row.name


def end(db: Session, row: ApiToken) -> None:
    """Revoke ROW in the caller's transaction: its next request gets 401, and its mail
    credential is deleted."""
    row.revoked_at = utcnow()
    row.sealed_credential = None
    app_passwords.drop_api_credential(db, row.id)


def _owner_may_sign_in(db: Session, cfg: dict | None, row: ApiToken) -> bool:
    """Whether the token's owner may sign in now: their mailbox is enabled, or (a
    directory user's token) the directory gives the address to the same person, enabled."""
    enabled = db.scalar(select(Mailbox.enabled).where(Mailbox.address == row.address))
    if row.directory_id is None:
        return bool(enabled)
    if enabled is not None or cfg is None or not uses_ldap(cfg):  # a database mailbox took the address
        return False
    person = _directory_user(cfg, row.address)
    return person is not None and person.id == row.directory_id and person.can_sign_in


def authenticate(db: Session, secret: str, client_ip: str, cfg: dict | None = None) -> ApiToken:
    """The token whose secret is SECRET, its use recorded (committed, at most once a
    USE_RECORD_SECONDS from one address); TokenRefused
    when it is unknown, revoked, expired, or its owner may no longer sign in (CFG: the
    directory that keeps directory users)."""
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    if row is None or state(row) != "active":
        raise TokenRefused("unknown, revoked or expired")
    if not _owner_may_sign_in(db, cfg, row):
        raise TokenRefused("the mailbox is gone or disabled")
    now, where = utcnow(), client_ip[:64]
    if (row.last_used_at is None or row.last_used_ip != where
            or now - _aware(row.last_used_at) >= timedelta(seconds=USE_RECORD_SECONDS)):
        db.execute(update(ApiToken).where(ApiToken.id == row.id)
                   .values(last_used_at=now, last_used_ip=where))
        db.commit()
    return row


def mail_credential(row: ApiToken, secret: str) -> str:
    """The token's own mail password (for ManageSieve); NotFound for a token without a
    personal scope."""
    if row.sealed_credential is None:
        raise NotFound(_l("This token has no personal scope."))
    return vault.unseal(_seal_key(secret), row.sealed_credential)

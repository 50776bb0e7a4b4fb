"""App passwords: generated, shown once, stored as SHA-256, revocable, last use recorded.

Mail programs cannot ask a TOTP code, so once two-factor sign-in is on they sign in with
these (Dovecot's app-password passdb, stack/templates/dovecot/dovecot-apppass.conf.ext).
The same mechanism gives each web session of such a person its own internal credential,
accepted only from the web app's address (see AppPassword).
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.models import AppPassword
from core.models.base import utcnow
from core.services.errors import InvalidInput, NotFound

# Lower-case letters and digits without look-alikes: 32 symbols, 5 bits each.
ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
GROUPS, GROUP_LENGTH = 5, 4  # 'abcd-efgh-ijkm-npqr-stuv': 100 random bits
SELECTOR_LENGTH = 4  # Dovecot's query selects the row by substr(%w, 1, 4)
# A random secret of 100 bits needs no slow hash; Dovecot verifies this scheme.
SCHEME = "{SHA256.HEX}"
MAX_NAME = 100
WEB_SESSION_NAME = "web session"
SCHEDULED_NAME = "scheduled message"
API_TOKEN_NAME = "API token"


def generate() -> str:
    """A new app password such as 'k7pq-z3mv-ra8x-cn2e-w4ht'."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))
    return "-".join(chars[i:i + GROUP_LENGTH] for i in range(0, len(chars), GROUP_LENGTH))


def dovecot_hash(password: str) -> str:
    """The hash Dovecot's passdb checks: '{SHA256.HEX}' and 64 hex digits."""
    return SCHEME + hashlib.sha256(password.encode("ascii")).hexdigest()


def _add(db: Session, address: str, name: str, web_session_id: str | None = None,
         scheduled_id: int | None = None, api_token_id: int | None = None) -> str:
    taken = set(db.scalars(select(AppPassword.selector).where(AppPassword.address == address)))
    password = generate()
    while password[:SELECTOR_LENGTH] in taken:  # the selector must pick one row
        password = generate()
    db.add(AppPassword(address=address, name=name, selector=password[:SELECTOR_LENGTH],
                       password_hash=dovecot_hash(password), web_session_id=web_session_id,
                       scheduled_id=scheduled_id, api_token_id=api_token_id))
    db.flush()
    return password


def create(db: Session, address: str, name: str) -> str:
    """Make an app password named NAME for ADDRESS; return it (it is not stored).

    Names are unique among the person's app passwords: they tell them apart in the list,
    and a form sent again (a reload of the page that showed the password) makes no second one.
    """
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(_l('Give the app password a name of 1 to %(max_name)s characters, such '
                              'as the device or program that will use it.', max_name=MAX_NAME))
    if any(p.name.casefold() == name.casefold() for p in listed(db, address)):
        raise InvalidInput(_l('You already have an app password named “%(name)s”: choose another '
                              'name, or revoke that one first.', name=name))
    password = _add(db, address, name)
    db.commit()
    return password


def issue_web_credential(db: Session, address: str, session_id: str) -> str:
    """The internal credential of web session SESSION_ID, in the caller's transaction."""
    return _add(db, address, WEB_SESSION_NAME, session_id)


def issue_scheduled_credential(db: Session, address: str, scheduled_id: int) -> str:
    """The internal credential scheduled message SCHEDULED_ID is sent with, in the
    caller's transaction (for a person whose main password Dovecot refuses)."""
    return _add(db, address, SCHEDULED_NAME, scheduled_id=scheduled_id)


def issue_api_credential(db: Session, address: str, token_id: int) -> str:
    """The internal credential API token TOKEN_ID reaches ManageSieve with, in the
    caller's transaction."""
    return _add(db, address, API_TOKEN_NAME, api_token_id=token_id)


def drop_api_credential(db: Session, token_id: int) -> None:
    """Remove API token TOKEN_ID's credential, if it has one."""
    db.execute(delete(AppPassword).where(AppPassword.api_token_id == token_id))


def drop_scheduled_credential(db: Session, scheduled_id: int) -> None:
    """Remove scheduled message SCHEDULED_ID's credential, if it has one."""
    db.execute(delete(AppPassword).where(AppPassword.scheduled_id == scheduled_id))


def _internal(row: AppPassword) -> bool:
    return (row.web_session_id is not None or row.scheduled_id is not None
            or row.api_token_id is not None)


def listed(db: Session, address: str) -> list[AppPassword]:
    """ADDRESS's app passwords, newest first (not the internal credentials of web
    sessions, scheduled messages and API tokens)."""
    return list(db.scalars(select(AppPassword).where(
        AppPassword.address == address, AppPassword.web_session_id.is_(None),
        AppPassword.scheduled_id.is_(None), AppPassword.api_token_id.is_(None))
        .order_by(AppPassword.created_at.desc(), AppPassword.id.desc())))


def revoke(db: Session, address: str, password_id: int) -> str:
    """Delete ADDRESS's app password PASSWORD_ID; return its name. Logins with it are
    refused from the next one on (Dovecot has no auth cache here)."""
    row = db.get(AppPassword, password_id)
    if row is None or row.address != address or _internal(row):
        raise NotFound(_l("There is no such app password."))
    db.delete(row)
    db.commit()
    return row.name


def record_use(db: Session, password_id: int, client_ip: str) -> None:
    """Note that app password PASSWORD_ID signed in just now from CLIENT_IP, in the
    caller's transaction."""
    db.execute(update(AppPassword).where(AppPassword.id == password_id)
               .values(last_used_at=utcnow(), last_used_ip=client_ip[:64]))

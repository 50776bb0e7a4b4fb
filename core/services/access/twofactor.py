"""Two-factor sign-in with TOTP (RFC 6238): enrolment, codes, recovery codes, disabling.

Once it is on, Dovecot refuses the main password over IMAP, POP3, ManageSieve and SMTP
AUTH (stack/templates/dovecot/dovecot-passdb.conf.ext): mail programs use app passwords
(app_passwords.py), the web sign-in asks a code after the password.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.models import Domain, Mailbox, RecoveryCode, TwoFactor
from core.models.base import utcnow
from core.services.errors import InvalidInput, Refused

from . import audit

ISSUER = "Mailroom"
# Codes of the step before and after the current one are taken too: a phone's clock
# may be 30 s off, and a code typed just before it changed must still work (RFC 6238 §5.2).
WINDOW = 1
RECOVERY_CODES = 10
# Recovery codes: two groups of five letters/digits with no look-alikes (0/o, 1/l).
CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
WRONG_CODE = _l("That code is not right: type the six digits your app shows now, or a recovery code.")


def matching_step(secret: str, code: str, at: float) -> int | None:
    """The 30-second step within WINDOW of AT whose TOTP is CODE, else None.

    >>> totp = pyotp.TOTP("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    >>> matching_step("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", totp.at(59), 45) == 1
    True
    """
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = int(at) // totp.interval
    for step in range(now - WINDOW, now + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normalised(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def code_hash(code: str) -> str:
    """The stored SHA-256 of a recovery code, however it was spaced or capitalised."""
    return hashlib.sha256(_normalised(code).encode("ascii", "ignore")).hexdigest()


def new_recovery_code() -> str:
    """A fresh code such as 'k7pqz-3mvra' (50 random bits, used once)."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def settings_of(db: Session, address: str) -> TwoFactor | None:
    """ADDRESS's TOTP row (confirmed or still being set up), or None."""
    return db.get(TwoFactor, address)


def is_on(db: Session, address: str) -> bool:
    """True when ADDRESS signs in with a second factor."""
    row = settings_of(db, address)
    return row is not None and row.confirmed_at is not None


def domain_requires(db: Session, address: str) -> bool:
    """True when ADDRESS's domain requires two-factor sign-in (Admin → Domains)."""
    return bool(db.scalar(select(Domain.require_two_factor)
                          .join(Mailbox, Mailbox.domain_id == Domain.id).where(Mailbox.address == address)))


def required(db: Session, address: str) -> bool:
    """True when ADDRESS's domain requires two-factor sign-in and it is not on yet."""
    return domain_requires(db, address) and not is_on(db, address)


def begin(db: Session, address: str) -> TwoFactor:
    """A new secret for ADDRESS to scan (replacing one never confirmed); Refused when on."""
    row = settings_of(db, address)
    if row is not None and row.confirmed_at is not None:
        raise Refused(_l("Two-factor sign-in is on already."))
    if row is None:
        row = TwoFactor(address=address)
        db.add(row)
    row.secret, row.last_step = pyotp.random_base32(), 0
    db.commit()
    return row


def provisioning_uri(row: TwoFactor) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(row.secret).provisioning_uri(name=row.address, issuer_name=ISSUER)


def confirm(db: Session, address: str, code: str) -> list[str]:
    """Turn two-factor sign-in on with a first CODE; return the recovery codes (shown once)."""
    row = settings_of(db, address)
    if row is None or row.confirmed_at is not None:
        raise Refused(_l("Start the set-up again: scan a new QR code."))
    step = matching_step(row.secret, code, time.time())
    if step is None:
        raise InvalidInput(WRONG_CODE)
    row.confirmed_at, row.last_step = utcnow(), step
    codes = _replace_recovery_codes(db, address)
    db.commit()
    return codes


def check_code(db: Session, address: str, code: str) -> bool:
    """Accept a TOTP code (each step once) or an unused recovery code (then used up);
    commits what it used."""
    row = settings_of(db, address)
    if row is None or row.confirmed_at is None:
        return False
    step = matching_step(row.secret, code, time.time())
    if step is not None:
        # One UPDATE that only succeeds for a newer step: two requests racing with one
        # code cannot both pass.
        taken = db.execute(update(TwoFactor).where(TwoFactor.address == address,
                                                   TwoFactor.last_step < step)
                           .values(last_step=step)).rowcount
        db.commit()
        return bool(taken)
    used = db.execute(update(RecoveryCode).where(
        RecoveryCode.address == address, RecoveryCode.code_hash == code_hash(code),
        RecoveryCode.used_at.is_(None)).values(used_at=utcnow())).rowcount
    db.commit()
    return bool(used)


def recovery_codes_left(db: Session, address: str) -> int:
    """How many of ADDRESS's recovery codes are unused."""
    return len(db.scalars(select(RecoveryCode.id).where(RecoveryCode.address == address,
                                                         RecoveryCode.used_at.is_(None))).all())


def renew_recovery_codes(db: Session, address: str) -> list[str]:
    """New recovery codes for ADDRESS (the old ones stop working); shown once."""
    if not is_on(db, address):
        raise Refused(_l("Two-factor sign-in is off."))
    codes = _replace_recovery_codes(db, address)
    db.commit()
    return codes


def _replace_recovery_codes(db: Session, address: str) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.address == address))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.add_all(RecoveryCode(address=address, code_hash=code_hash(c)) for c in codes)
    return codes


def reset(db: Session, actor: str, mailbox: Mailbox) -> None:
    """Turn MAILBOX's two-factor sign-in off for its owner who lost the phone and the
    recovery codes (an admin of its domain); audited, in the caller's transaction."""
    if not is_on(db, mailbox.address):
        raise Refused(_l('%(address)s does not use two-factor sign-in.', address=mailbox.address))
    turn_off(db, mailbox.address)
    audit.record(db, actor, "update", "mailbox", mailbox.address, domain=mailbox.domain.name,
                 before={"two_factor": True}, after={"two_factor": False})


def turn_off(db: Session, address: str) -> None:
    """Remove ADDRESS's secret and recovery codes (the caller checked password and code),
    in the caller's transaction; app passwords stay."""
    db.execute(delete(RecoveryCode).where(RecoveryCode.address == address))
    db.execute(delete(TwoFactor).where(TwoFactor.address == address))
    db.flush()

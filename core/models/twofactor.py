"""Two-factor sign-in: a person's TOTP secret, recovery codes and app passwords.

All in the private database (core/db.py): Dovecot's passdbs read the TOTP row (whether
the main password is refused over IMAP, POP3, ManageSieve and SMTP AUTH) and the app
passwords' hashes; Postfix never opens them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import PRIVATE

from .base import Address, Base, Timestamped


class TwoFactor(Timestamped, Base):
    """A person's TOTP secret (RFC 6238); on once confirmed_at is set."""

    __tablename__ = "two_factor"
    __table_args__ = {"schema": PRIVATE}

    address: Mapped[str] = mapped_column(Address, primary_key=True)
    # Base32, as authenticator apps take it; the app must read it back to check codes.
    secret: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The newest 30-second step a code was accepted for: a code is never taken twice.
    last_step: Mapped[int] = mapped_column(Integer, default=0)


class RecoveryCode(Base):
    """One recovery code, stored as its SHA-256 (a random code: no slow hash needed)."""

    __tablename__ = "recovery_codes"
    __table_args__ = {"schema": PRIVATE}

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(Address, index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AppPassword(Timestamped, Base):
    """A generated password Dovecot accepts for IMAP, POP3, ManageSieve and SMTP AUTH.

    The first SELECTOR_LENGTH characters select the row (Dovecot's SQL passdb takes one
    row per lookup, so the query picks it from the password typed, %w); the whole
    password's SHA-256 is the hash Dovecot checks. A row with web_session_id is the
    internal credential of one web session of a person with two-factor sign-in: not
    listed, accepted only from the web app's address, gone with its session. A row with
    scheduled_id is the same for one scheduled message (the worker sends it from the
    app's address), removed with it (core/services/mail/scheduled.py). A row with
    api_token_id is the same for one API token (its personal scopes reach ManageSieve).
    """

    __tablename__ = "app_passwords"
    __table_args__ = (UniqueConstraint("address", "selector"), {"schema": PRIVATE})

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(Address, index=True)
    name: Mapped[str] = mapped_column(String(100))
    selector: Mapped[str] = mapped_column(String(8))
    password_hash: Mapped[str] = mapped_column(String(100))
    web_session_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey(f"{PRIVATE}.web_sessions.id", ondelete="CASCADE"), unique=True)
    scheduled_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    # Deleted with its token's revocation (core/services/access/api_tokens.py).
    api_token_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_ip: Mapped[str | None] = mapped_column(String(64))

"""API tokens: bearer tokens for /api/v1, stored as their SHA-256 (private database)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import PRIVATE

from .base import Address, Base, Timestamped


class ApiToken(Timestamped, Base):
    """One named token of a person, with the scopes it was given (space-separated).

    A token with a personal scope carries a mail credential of its own (an internal app
    password, AppPassword.api_token_id) sealed with a key derived from the token: the
    database alone cannot open it, as with a web session's cookie. A directory user's
    token keeps their stable id (DIRECTORY_ID): it works only while the directory gives
    the address to that person.
    """

    __tablename__ = "api_tokens"
    __table_args__ = {"schema": PRIVATE}

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(Address, index=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    directory_id: Mapped[str | None] = mapped_column(String(255))
    sealed_credential: Mapped[bytes | None] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_ip: Mapped[str | None] = mapped_column(String(64))

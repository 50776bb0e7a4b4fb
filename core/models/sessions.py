"""Server-side halves of web sessions: the sealed mail credential."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import PRIVATE

from .base import Address, Base, Timestamped, utcnow


class WebSession(Timestamped, Base):
    """One signed-in browser; the credential is sealed with a key only its cookie holds.

    In the private database (core/db.py): the daemons never need it.
    """

    __tablename__ = "web_sessions"
    __table_args__ = {"schema": PRIVATE}

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # An address, not a mailbox row: Mailroom may front an IMAP server it does not manage.
    address: Mapped[str] = mapped_column(Address, index=True)
    sealed_credential: Mapped[bytes] = mapped_column(LargeBinary)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

"""Messages a person asked to send later (and the few seconds of "Undo" after Send).

The row holds the message as composed (the draft's form, X-Mailroom-* state and Bcc
included, so "Edit" puts it back into Drafts exactly), the envelope, and the person's
mail password sealed by the privileged helper with a key only root reads
(stack/secretfiles.py): the worker, root, opens it to submit the message as the person
through the same submission port as Send. In the private database (core/db.py): message
text and sealed credentials are not for Postfix's lookups.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import PRIVATE

from .base import Address, Base, utcnow

# queued: waits for send_at (error set: the last attempt failed and it will be tried again);
# sending: the worker has it; failed: the mail server refused it, it waits for the person.
QUEUED, SENDING, FAILED = "queued", "sending", "failed"


class ScheduledMessage(Base):
    """E.g. ScheduledMessage(address='anna@example.test', send_at=…, time_zone='Europe/Rome')."""

    __tablename__ = "scheduled_messages"
    __table_args__ = {"schema": PRIVATE}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(Address, index=True)  # whose it is (who signed in)
    sender: Mapped[str] = mapped_column(String(320))  # the envelope sender (the identity)
    recipients: Mapped[str] = mapped_column(Text)  # the envelope, one address a line
    subject: Mapped[str] = mapped_column(String(998), default="")
    source: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_credential: Mapped[bytes] = mapped_column(LargeBinary)
    send_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")  # as the browser said
    undo: Mapped[bool] = mapped_column(default=False)  # Send with its seconds of Undo
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def envelope(self) -> list[str]:
        """The recipients' addresses, e.g. ['ben@example.test', 'cleo@example.test']."""
        return [line for line in self.recipients.splitlines() if line]

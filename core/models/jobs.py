"""Queued jobs that do privileged work on the mail store outside any web request."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

ERASE_MAIL = "erase_mail"
# Kept mail of a deleted mailbox moves to MAIL_ROOT/.archive, out of reach of whoever
# gets the address next.
ARCHIVE_MAIL = "archive_mail"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class AdminJob(Base):
    """A job for the worker, e.g. AdminJob(kind='erase_mail', target='ben@example.test')."""

    __tablename__ = "admin_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(320))
    # The directory to work on, fixed when the job is queued (the directory row is gone by then).
    path: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    requested_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)

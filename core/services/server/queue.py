"""Postfix's mail queue (Admin → Server → Queue, `flask --app app queue`): list, headers,
attempt to send, delete; flushes and deletions are audited.

Every step is one of the privileged helper's queue operations (stack/privileged.py):
the app runs unprivileged and Postfix's tools refuse it the stack's queue. The helper
lists, filters and cuts the page itself, so a queue of thousands sends one page here.
A queue id is checked here for the person's sake and again by the helper.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.mail import privileged
from core.mail.errors import MailError
from core.services.access import audit
from core.services.errors import InvalidInput, NotFound, Refused
from core.services.server import mailstore
from stack.mailqueue import valid_queue_id

log = logging.getLogger(__name__)
PER_PAGE = 50
ALL = "all messages"


class NotQueued(NotFound):
    """The message is no longer in the queue."""

    def __init__(self, queue_id: str) -> None:
        super().__init__(_l('Message %(queue_id)s is no longer in the queue: it has been '
                            'delivered, returned to its sender or deleted.', queue_id=queue_id))
        self.queue_id = queue_id


@dataclass(frozen=True)
class Recipient:
    """A recipient still waiting, e.g. Recipient('bob@far.test', 'connect to …: Connection refused')."""

    address: str
    reason: str


@dataclass(frozen=True)
class QueuedMessage:
    """One message of the queue, as `postqueue -j` describes it."""

    queue_id: str
    queue: str  # active, deferred, hold (incoming, maildrop: not yet picked up)
    sender: str
    recipients: tuple[Recipient, ...]
    size: int  # bytes
    arrival: datetime

    @property
    def age_seconds(self) -> int:
        """Seconds since the message arrived."""
        return max(0, int(time.time() - self.arrival.timestamp()))

    @property
    def reason(self) -> str:
        """Why delivery was put off (the first recipient's reason), '' when not tried yet."""
        return next((r.reason for r in self.recipients if r.reason), "")

    def as_json(self) -> dict:
        return {"queue_id": self.queue_id, "queue": self.queue, "sender": self.sender,
                "recipients": [{"address": r.address, "reason": r.reason} for r in self.recipients],
                "size": self.size, "arrival": self.arrival.isoformat(), "age_seconds": self.age_seconds,
                "reason": self.reason}


@dataclass(frozen=True)
class QueuePage:
    """A page of the (filtered) queue and the whole queue's counts per queue name."""

    messages: list[QueuedMessage]
    total: int  # matching the filter
    counts: dict[str, int]
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def queued(self) -> int:
        """Every message in the queue, filter or not."""
        return sum(self.counts.values())


def _message(entry: dict) -> QueuedMessage:
    return QueuedMessage(
        queue_id=str(entry.get("queue_id", "")), queue=str(entry.get("queue_name", "")),
        sender=str(entry.get("sender") or ""),
        recipients=tuple(Recipient(str(r.get("address", "")), str(r.get("delay_reason") or ""))
                         for r in entry.get("recipients", [])),
        size=int(entry.get("message_size") or 0),
        arrival=datetime.fromtimestamp(int(entry.get("arrival_time") or 0), timezone.utc))


def checked_id(queue_id: str) -> str:
    """QUEUE_ID when it is a Postfix queue id; InvalidInput otherwise."""
    queue_id = queue_id.strip()
    if not valid_queue_id(queue_id):
        raise InvalidInput(_l('%(queue_id)s is not a Postfix queue id (such as A9B57263678).',
                              queue_id=f"{queue_id[:40]!r}"))
    return queue_id


def listing(cfg: dict, sender: str = "", recipient: str = "", page: int = 1,
            per_page: int = PER_PAGE) -> QueuePage:
    """PAGE of the queue, newest first, whose sender / a recipient contains SENDER / RECIPIENT."""
    page = max(1, page)
    found = mailstore.call(cfg, "queue_list", sender=sender.strip()[:1000],
                           recipient=recipient.strip()[:1000], offset=(page - 1) * per_page,
                           limit=per_page)
    return QueuePage([_message(e) for e in found["entries"]], found["total"], found["counts"],
                     page, per_page)


def counts(cfg: dict) -> dict[str, int] | None:
    """How many messages each queue holds (deferred, active, hold, ...); None when unknown."""
    try:
        return mailstore.call(cfg, "queue_counts")
    except MailError as exc:
        log.warning("queue counts unknown: %s", exc)
        return None


def headers(cfg: dict, queue_id: str) -> str:
    """The header block of a queued message; NotQueued when it has left the queue."""
    queue_id = checked_id(queue_id)
    text = mailstore.call(cfg, "queue_headers", queue_id=queue_id)
    if text is None:
        raise NotQueued(queue_id)
    return text


def flush(db: Session, cfg: dict, actor: str, queue_id: str | None = None) -> None:
    """Attempt delivery now of QUEUE_ID, or of every message when None (audited, committed)."""
    queue_id = checked_id(queue_id) if queue_id is not None else None
    if not mailstore.call(cfg, "queue_flush", queue_id=queue_id):
        raise NotQueued(str(queue_id))
    audit.record(db, actor, "flush", "server", f"queue: {queue_id or ALL}")
    db.commit()


def delete(db: Session, cfg: dict, actor: str, queue_id: str) -> None:
    """Delete one queued message for good (audited, committed); NotQueued when it is gone."""
    queue_id = checked_id(queue_id)
    if not mailstore.call(cfg, "queue_delete", queue_id=queue_id):
        raise NotQueued(queue_id)
    audit.record(db, actor, "delete", "server", f"queue: {queue_id}", before={"queued": 1})
    db.commit()


def delete_all(db: Session, cfg: dict, actor: str, expected: int | None = None) -> int:
    """Delete every queued message (only while it holds EXPECTED, if given; else Refused
    and nothing deleted); how many were deleted (audited, committed)."""
    try:
        deleted = mailstore.call(cfg, "queue_delete", all=True, expected=expected)
    except privileged.Refused as exc:
        raise Refused(str(exc)) from exc
    if deleted:
        audit.record(db, actor, "delete", "server", f"queue: {ALL}", before={"queued": deleted})
        db.commit()
    return deleted

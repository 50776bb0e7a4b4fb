"""Message tracking: where a message went, from the mail log, for whom may see it.

The log files belong to root (they hold everyone's addresses, and on a system install
they are syslog's /var/log/mail.log, readable by group adm, which would open every
system log to the web process), so the app never reads them: it asks the privileged
helper's `track` operation, and for anyone but a server admin it names the person's
own addresses as the only senders, so no other message ever leaves the helper.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.services.errors import InvalidInput, NotFound
from core.services.mail import compose

from . import mailstore

MAX_QUERY = 500
LIMIT = 200
COUNTS_TTL = 60.0  # seconds the dashboard's counts are reused
_counts_cache: dict[str, tuple[float, dict]] = {}
_counts_lock = threading.Lock()


@dataclass(frozen=True)
class Step:
    """One event of a message's timeline, e.g. Step('2026-12-04T22:35:50', 'queued', 'from …')."""

    time: str
    stage: str
    detail: str


@dataclass(frozen=True)
class Message:
    """One tracked message as the pages show it."""

    queue_id: str
    message_id: str
    sender: str
    status: str
    events: list[Step]
    recipients: list[dict] = field(default_factory=list)
    queue_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> "Message":
        return cls(queue_id=data["queue_id"], message_id=data["message_id"], sender=data["sender"],
                   status=data["status"], events=[Step(**e) for e in data["events"]],
                   recipients=data["recipients"], queue_ids=data["queue_ids"])

    @property
    def started(self) -> str:
        return self.events[0].time if self.events else ""


def parse_since(text: str) -> datetime | None:
    """An ISO date or date and time ('' for none); InvalidInput otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        since = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(_l('%(text)s is not a date and time such as 2026-12-04T09:30.',
                              text=f"{text!r}")) from exc
    return since.astimezone().replace(tzinfo=None) if since.tzinfo else since


def track(cfg: dict, query: str, since: datetime | None = None,
          senders: list[str] | None = None, limit: int = LIMIT) -> list[Message]:
    """The messages QUERY names (queue id, Message-ID, sender or recipient; '' for every
    one), newest first; with SENDERS only those sent from one of these addresses."""
    query = (query or "").strip()
    if len(query) > MAX_QUERY or any(ord(c) < 32 for c in query):
        raise InvalidInput(_l("Search for a queue id, a Message-ID or an address."))
    args = {"query": query, "since": since.isoformat() if since else "", "limit": limit}
    if senders is not None:
        args["senders"] = senders
    return [Message.from_json(m) for m in mailstore.call(cfg, "track", **args)]


def delivery_details(db: Session, cfg: dict, address: str, message_id: str) -> list[Message]:
    """The log's record of a message with MESSAGE_ID that ADDRESS's person sent (from
    their own address or one of their aliases); NotFound when there is none.

    The Message-ID comes from the person's own mailbox, but anyone can put any
    Message-ID there: the sender filter, applied by the helper, is what keeps other
    people's messages out."""
    message_id = (message_id or "").strip().strip("<>")
    if not message_id:
        raise NotFound(_l("This message has no Message-ID to look for in the mail log."))
    senders = [identity.address for identity in compose.identities(db, address)]
    found = [m for m in track(cfg, message_id, senders=senders)
             if m.message_id.lower() == message_id.lower()]
    if not found:
        raise NotFound(_l("The mail log has no record of this message being sent by you "
                       "(it may be older than the logs the server keeps)."))
    return found


def counts_today(cfg: dict, now: float | None = None) -> dict | None:
    """{'received', 'sent', 'rejected'} since midnight, reused for a minute; None when
    the helper does not answer."""
    from core.mail.errors import MailError

    now = time.time() if now is None else now
    midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    key = f"{mailstore.mail_root(cfg)}|{midnight.isoformat()}"
    with _counts_lock:
        cached = _counts_cache.get(key)
        if cached and now - cached[0] < COUNTS_TTL:
            return cached[1]
    try:
        counts = mailstore.call(cfg, "mail_counts", since=midnight.isoformat())
    except MailError:
        return None
    with _counts_lock:
        _counts_cache.clear()
        _counts_cache[key] = (now, counts)
    return counts

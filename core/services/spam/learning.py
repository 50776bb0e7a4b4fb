"""Junk training and Bayes readiness: who trains, what Bayes has learned, the retry queue.

Moving a message into Junk (or out of it) from any IMAP client queues it for Rspamd
(see stack/learnd); these are the use-cases the pages and `flask spam status` show.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.i18n import lazy_gettext as _l
from core.mail import rspamd
from core.mail.errors import ServiceUnavailable, SpamFilterError
from core.mail.learnspool import Spool
from core.models import Group, Mailbox, group_members
from core.services.directory.groups import SPAMTRAINERS
from stack import directory_groups as stack_groups
from stack.daemons import running
from stack.layout import Layout
from stack.learnd import spool_dir

TRAINERS_GROUP = SPAMTRAINERS
# Rspamd's Bayes acts only after this many spam and this many ham messages; the same
# number is in stack/templates/rspamd/local.d/classifier-bayes.conf (a test keeps them equal).
MIN_LEARNS = 200
SKIPPED = "skipped"  # an outcome: the mover may not train


def may_train(db: Session, address: str, directory: dict[str, list[str]] | None = None) -> bool:
    """Whether ADDRESS's moves train: everyone's, unless a spamtrainers group exists.

    DIRECTORY: the directory's groups by address (stack/directory_groups.py); its
    `spamtrainers` counts as Mailroom's: members of either train, and either existing
    limits training to members.
    """
    directory = directory or {}
    if TRAINERS_GROUP in directory.get(address.lower(), ()):
        return True
    group_id, limited = _trainers_group(db, directory)
    if not limited:
        return True
    if group_id is None:  # only the directory's group exists, and ADDRESS is not in it
        return False
    members = db.scalar(
        select(func.count()).select_from(group_members)
        .join(Mailbox, Mailbox.id == group_members.c.mailbox_id)
        .where(group_members.c.group_id == group_id, Mailbox.address == address.lower())
    )
    return bool(members)


def _trainers_group(db: Session, directory: dict[str, list[str]]) -> tuple[int | None, bool]:
    """Mailroom's spamtrainers group id (None without one), and whether training is
    limited to members: that group or the directory's exists."""
    group_id = db.scalar(select(Group.id).where(Group.name == TRAINERS_GROUP))
    limited = group_id is not None or any(TRAINERS_GROUP in names for names in directory.values())
    return group_id, limited


@dataclass(frozen=True)
class TrainerStatus:
    """Whether one person's moves train the shared filter, and why."""

    trains: bool
    group_exists: bool

    @property
    def reason(self) -> str:
        """A sentence for the settings page."""
        if not self.group_exists:
            return _l("Everyone on this server trains the spam filter (there is no spamtrainers group).")
        if self.trains:
            return _l("You are in the spamtrainers group, so your moves train the spam filter.")
        return (_l("Only members of the spamtrainers group train the spam filter; your moves "
                "into and out of Junk only move the messages."))


def directory_groups(cfg: dict) -> dict[str, list[str]]:
    """The directory's groups by address, as the worker last wrote them ({} without a
    directory; stack/directory_groups.py)."""
    return stack_groups.read(stack_groups.groups_file(Layout.from_config(cfg)))


def trainer_status(db: Session, address: str, directory: dict[str, list[str]]) -> TrainerStatus:
    """TrainerStatus for ADDRESS; DIRECTORY as for may_train."""
    return TrainerStatus(may_train(db, address, directory), _trainers_group(db, directory)[1])


@dataclass(frozen=True)
class Readiness:
    """Messages Bayes has learned against min_learns, e.g. Readiness(212, 187, 200)."""

    spam: int | None
    ham: int | None
    min_learns: int = MIN_LEARNS
    error: str = ""

    @property
    def available(self) -> bool:
        """Whether the counts could be read (else `error` says why)."""
        return self.spam is not None and self.ham is not None

    @property
    def active(self) -> bool:
        """Bayes scores messages only once both counts reached min_learns."""
        return (self.spam or 0) >= self.min_learns and (self.ham or 0) >= self.min_learns

    def percent(self, kind: str) -> int:
        """Progress of KIND ('spam'/'ham') towards min_learns, 0-100."""
        value = (self.spam if kind == "spam" else self.ham) or 0
        return min(100, round(100 * value / self.min_learns))


@dataclass(frozen=True)
class QueueStatus:
    """The retry queue: how many moves wait for Rspamd, and the last error."""

    length: int
    worker_running: bool
    last_error: str = ""
    last_error_at: float | None = None
    last_success_at: float | None = None
    failures: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    recent: list[dict] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        """Whether the last attempt to reach Rspamd failed (the queue is stuck)."""
        return self.failures > 0


@dataclass(frozen=True)
class SpamStatus:
    """Everything the readiness pages and `flask spam status` show."""

    readiness: Readiness
    queue: QueueStatus

    def as_json(self) -> dict:
        """The document `flask spam status --json` prints."""
        r, q = self.readiness, self.queue
        return {
            "learned": {"spam": r.spam, "ham": r.ham},
            "min_learns": {"spam": r.min_learns, "ham": r.min_learns},
            "bayes_active": r.active,
            "bayes_available": r.available,
            "counts_error": r.error or None,
            "queue": {"length": q.length, "last_error": q.last_error or None,
                      "last_error_at": _iso(q.last_error_at), "failing": q.failing,
                      "worker_running": q.worker_running, "outcomes": q.totals},
        }


def _iso(stamp: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)) if stamp else None


def readiness(cfg: dict) -> Readiness:
    """Learned counts from Redis (live); from Rspamd's /stat if Redis refuses us.

    When Redis does not answer at all, Bayes itself is unavailable (Rspamd keeps what
    it learned there): the counts are unknown, and /stat's figures would only pretend.
    """
    settings = rspamd.RspamdSettings.from_config(cfg)
    try:
        spam, ham = rspamd.bayes_counts(settings)
        return Readiness(spam, ham)
    except ServiceUnavailable as exc:
        return Readiness(None, None, error=str(_l('%(service)s does not answer', service=exc.name)))
    except SpamFilterError as exc:
        redis_error = str(exc)
    try:
        files = {f.get("symbol"): f.get("revision", 0) for f in rspamd.stat(settings)["statfiles"]}
        return Readiness(files.get("BAYES_SPAM"), files.get("BAYES_HAM"), error=redis_error)
    except (ServiceUnavailable, SpamFilterError, KeyError, TypeError) as exc:
        return Readiness(None, None, error=f"{redis_error}; {exc}")


def spool(cfg: dict) -> Spool:
    """The training queue of the stack CFG describes."""
    return Spool(spool_dir(Layout.from_config(cfg)))


def queue_status(cfg: dict) -> QueueStatus:
    """The queue's length and the worker's last report."""
    queue = spool(cfg)
    state = queue.read_state()
    alive = running(Layout.from_config(cfg), "learnd") is not None
    return QueueStatus(queue.length(), alive, state.last_error, state.last_error_at,
                       state.last_success_at, state.failures, dict(state.totals),
                       list(reversed(state.recent)))


def status(cfg: dict) -> SpamStatus:
    """Readiness and queue, as the pages and the command line show them."""
    return SpamStatus(readiness(cfg), queue_status(cfg))


def recent_for(queue: QueueStatus, address: str, limit: int = 20) -> list[dict]:
    """ADDRESS's latest training outcomes, newest first."""
    return [row for row in queue.recent if row.get("user") == address][:limit]


@dataclass(frozen=True)
class Training:
    """What "Mark as spam" / "Not spam" tell the person about training."""

    address: str
    trainer: TrainerStatus
    queue: Spool

    def after_move(self, action: str) -> str:
        """A sentence: how the move just made trains the filter.

        It never waits for Rspamd: the learn queue keeps each move until Rspamd has
        learned it, and Settings, Spam & Junk lists what came of it.
        """
        kind = "spam" if action == "spam" else "ham"
        if not self.trainer.trains:
            return _l("This did not train the spam filter: only members of the spamtrainers group do.")
        if self.queue.read_state().failures:
            return (_l("The spam filter cannot be reached right now; the move waits in the "
                    "training queue and teaches it as soon as it is back."))
        return _l('The move is queued to teach the spam filter what %(kind)s looks like.', kind=kind)


def training_for(db: Session, cfg: dict, address: str) -> Training:
    """The Training helper for ADDRESS's webmail clicks."""
    return Training(address, trainer_status(db, address, directory_groups(cfg)), spool(cfg))


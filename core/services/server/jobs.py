"""Queued jobs: erasing a deleted mailbox's mail, done by the stack's worker, not a web request."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.models import AdminJob, Mailbox, SharedMailbox
from core.models.base import utcnow
from core.models.jobs import DONE, ERASE_MAIL, FAILED, QUEUED, RUNNING
from core.services.access import audit

log = logging.getLogger(__name__)


def queue_erase(db: Session, actor: str, address: str, domain: str, home: Path) -> AdminJob:
    """Queue the erasure of HOME, the mail directory of the deleted ADDRESS."""
    job = AdminJob(kind=ERASE_MAIL, target=address, path=str(home), state=QUEUED,
                   requested_by=actor)
    db.add(job)
    db.flush()
    audit.record(db, actor, "erase", "mailbox", address, domain=domain,
                 after={"job": job.id, "path": str(home)})
    return job


def recent(db: Session, limit: int = 20) -> list[AdminJob]:
    """The newest jobs, for the dashboard."""
    return list(db.scalars(select(AdminJob).order_by(AdminJob.id.desc()).limit(limit)))


def requeue_interrupted(db: Session) -> int:
    """Put jobs a stopped worker left running back in the queue (at worker start)."""
    result = db.execute(update(AdminJob).where(AdminJob.state == RUNNING).values(state=QUEUED))
    return result.rowcount or 0


def claim(db: Session) -> AdminJob | None:
    """Take the oldest queued job, marking it running."""
    job = db.scalar(select(AdminJob).where(AdminJob.state == QUEUED).order_by(AdminJob.id).limit(1))
    if job is not None:
        job.state = RUNNING
        db.flush()
    return job


def run(db: Session, job: AdminJob, mail_root: Path) -> None:
    """Carry out JOB and record how it ended."""
    try:
        if job.kind != ERASE_MAIL:
            raise ValueError(f"unknown job kind {job.kind!r}")
        erase(db, job, mail_root)
    except (OSError, ValueError) as exc:
        log.warning("job %s (%s %s) failed: %s", job.id, job.kind, job.target, exc)
        job.state, job.error = FAILED, str(exc)
    else:
        job.state = DONE
    job.finished_at = utcnow()
    db.flush()


def erase(db: Session, job: AdminJob, mail_root: Path) -> None:
    """Remove the job's mail directory, if it is still nobody's and lies under MAIL_ROOT."""
    path = Path(job.path)
    root, resolved = mail_root.resolve(), path.resolve()
    if path.is_symlink() or root not in resolved.parents \
            or len(resolved.relative_to(root).parts) != 2:
        raise ValueError(f"{path} is not a mail directory under {root}")
    # The address may have been given to a new mailbox since: its mail must not go.
    if db.scalar(select(Mailbox.id).where(Mailbox.address == job.target)) or db.scalar(
            select(SharedMailbox.id).where(SharedMailbox.address == job.target)):
        raise ValueError(f"{job.target} exists again; its mail directory was left alone")
    if path.exists():
        # rmtree never follows symbolic links inside the tree (fd-based on Linux).
        shutil.rmtree(path)
    log.info("erased %s (%s) for job %s", path, job.target, job.id)

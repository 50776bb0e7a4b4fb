"""Queued jobs: archiving or erasing a deleted mailbox's mail, done by the stack's worker.

A deleted address's Maildir never stays where a new mailbox of the same address would
find it: it is erased when the admin asked for that, else moved to
MAIL_ROOT/.archive/DOMAIN/LOCAL-TIME-JOB, a folder only root may enter, from where a
server admin can restore it (core/services/directory/archives.py); until the job is
done the address cannot be given again (directory/lookup.py). The address book kept by
that address (Radicale's BOOKS/collection-root/ADDRESS) goes the same way, beside the
archived mail as LOCAL-TIME-JOB.contacts, so the next holder of the address never sees it.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.models import AdminJob, DirectoryPerson, Mailbox, SharedMailbox
from core.models.base import utcnow
from core.models.jobs import ARCHIVE_MAIL, DONE, ERASE_MAIL, FAILED, QUEUED, RUNNING
from core.services.access import audit

log = logging.getLogger(__name__)


ARCHIVE = ".archive"  # under MAIL_ROOT; no domain name starts with a dot
DIRECTORY = "directory"  # MAIL_ROOT/directory/<id>: directory users' folders (stack/ldap_maps.py)
# One path component that is neither "." nor "..", nor hidden.
SAFE_NAME = re.compile(r"^[^./\x00][^/\x00]*$")


def queue_mail_job(db: Session, actor: str, address: str, domain: str, home: Path,
                   erase: bool) -> AdminJob:
    """Queue erasing (ERASE) or archiving HOME, the mail directory of the deleted ADDRESS."""
    kind = ERASE_MAIL if erase else ARCHIVE_MAIL
    job = AdminJob(kind=kind, target=address, path=str(home), state=QUEUED, requested_by=actor)
    db.add(job)
    db.flush()
    audit.record(db, actor, "erase" if erase else "archive", "mailbox", address, domain=domain,
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


def run(db: Session, job: AdminJob, mail_root: Path, books: Path | None = None) -> None:
    """Carry out JOB (and the same for the address's book under BOOKS) and record how it ended."""
    try:
        if job.kind not in (ERASE_MAIL, ARCHIVE_MAIL):
            raise ValueError(f"unknown job kind {job.kind!r}")
        path = _mail_directory(db, job, mail_root)
        (erase if job.kind == ERASE_MAIL else archive)(path, job, mail_root)
        if books is not None:
            _address_book(db, job, books, mail_root)
    except (OSError, ValueError) as exc:
        log.warning("job %s (%s %s) failed: %s", job.id, job.kind, job.target, exc)
        job.state, job.error = FAILED, str(exc)
    else:
        job.state = DONE
    job.finished_at = utcnow()
    db.flush()


def _mail_directory(db: Session, job: AdminJob, mail_root: Path) -> Path:
    """The job's mail directory, if it lies where a mailbox's does and is still nobody's."""
    path = Path(job.path)
    root, resolved = mail_root.resolve(), path.resolve()
    if path.is_symlink() or root not in resolved.parents \
            or len(resolved.relative_to(root).parts) != 2 or resolved.parts[-2] == ARCHIVE:
        raise ValueError(f"{path} is not a mail directory under {root}")
    if resolved.parts[-2] == DIRECTORY:
        # A directory user's folder, named by their stable id: theirs again if the
        # directory has them back (a new person with the address has a folder of their own).
        if db.scalar(select(DirectoryPerson.present).where(DirectoryPerson.directory_id == path.name)):
            raise ValueError(f"{path.name} is in the directory again; its mail directory was left alone")
        return path
    # New mailboxes wait for this job (pending_for); belt and braces.
    if db.scalar(select(Mailbox.id).where(Mailbox.address == job.target)) or db.scalar(
            select(SharedMailbox.id).where(SharedMailbox.address == job.target)):
        raise ValueError(f"{job.target} exists again; its mail directory was left alone")
    return path


def _address_book(db: Session, job: AdminJob, books: Path, mail_root: Path) -> None:
    """Erase the book of JOB's address, or move it beside the archived mail; left alone
    when the address is someone's again (a mailbox, or a person of the directory)."""
    book = books / "collection-root" / job.target
    if not SAFE_NAME.match(job.target) or book.is_symlink() or not book.is_dir():
        return
    if db.scalar(select(Mailbox.id).where(Mailbox.address == job.target)) or db.scalar(
            select(DirectoryPerson.directory_id).where(DirectoryPerson.address == job.target,
                                                       DirectoryPerson.present)):
        log.info("the address book of %s belongs to its new holder: left alone (job %s)", job.target, job.id)
        return
    if job.kind == ERASE_MAIL:
        shutil.rmtree(book)
        log.info("erased the address book of %s for job %s", job.target, job.id)
        return
    archive_book(books, mail_root, job.target, str(job.id))


def archive_book(books: Path, mail_root: Path, address: str, tag: str) -> Path | None:
    """Move ADDRESS's address book (if any) to MAIL_ROOT/.archive/DOMAIN/LOCAL-TIME-TAG.contacts,
    root's alone; where it went."""
    book = books / "collection-root" / address
    local, _, domain = address.rpartition("@")
    if not local or not SAFE_NAME.match(address) or book.is_symlink() or not book.is_dir():
        return None
    target = _archive_place(mail_root, local, domain, f"{tag}.contacts")
    shutil.move(book, target)  # the books may lie on another file system than the mail
    log.info("archived the address book of %s to %s", address, target)
    return target


def erase(path: Path, job: AdminJob, mail_root: Path) -> None:
    """Remove PATH (rmtree never follows symbolic links inside the tree, fd-based on Linux)."""
    if path.exists():
        shutil.rmtree(path)
    log.info("erased %s (%s) for job %s", path, job.target, job.id)


def archive(path: Path, job: AdminJob, mail_root: Path) -> None:
    """Move PATH to MAIL_ROOT/.archive/DOMAIN/LOCAL-TIME (root-only), if it exists."""
    if not path.exists():
        log.info("%s had no mail directory to archive (job %s)", job.target, job.id)
        return
    # Named by the address (a directory user's folder is named by their id), so that
    # `mailbox archives` lists it under the address and `mailbox restore` finds it.
    local, _, domain = job.target.rpartition("@")
    if not local or not SAFE_NAME.match(local) or not SAFE_NAME.match(domain):
        local, domain = path.name, path.parent.name
    target = _archive_place(mail_root, local, domain, str(job.id))
    os.rename(path, target)
    job.path = str(target)
    log.info("archived %s (%s) to %s for job %s", path, job.target, target, job.id)


def _archive_place(mail_root: Path, local: str, domain: str, tag: str) -> Path:
    """MAIL_ROOT/.archive/DOMAIN/LOCAL-TIME-TAG, its domain folder made (root's alone)."""
    domain_dir = archive_root(mail_root) / domain
    domain_dir.mkdir(mode=0o700, exist_ok=True)
    return domain_dir / f"{local}-{time.strftime('%Y%m%dT%H%M%S')}-{tag}"


def archive_root(mail_root: Path) -> Path:
    """MAIL_ROOT/.archive, root's alone (Dovecot's mail uid and the web app stay out)."""
    root = mail_root / ARCHIVE
    root.mkdir(mode=0o700, exist_ok=True)
    os.chown(root, 0, 0)
    root.chmod(0o700)
    return root

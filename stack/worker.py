"""`python -m stack.worker DATABASE MAIL_ROOT PIDFILE`: the admin's job worker.

Started by `stack up` like the mail daemons (stack/daemons.py), before Dovecot and
Postfix. It erases the mail directories of deleted mailboxes when an admin asked for
it: privileged work on the mail store that the web request only queues
(core/services/server/jobs.py).

It also holds the database open for as long as it runs. The database is in WAL mode,
and SQLite removes the WAL index (-shm) when the last connection closes; Postfix opens
it read-only and can neither create that index nor recover it, so with no connection
open its next lookup would fail. One connection held here keeps the index in place,
writable by the daemons' group (stack/perms.py).
"""
from __future__ import annotations

import logging
import signal
import sqlite3
import sys
import time
from pathlib import Path

from . import perms
from .background import detach, log_to_stderr

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 1.0
log = logging.getLogger("mailroom.worker")


def pidfile(layout) -> Path:
    """Where the worker writes its pid once it runs in the background."""
    return layout.run / "worker.pid"


def argv(layout) -> tuple[str, ...]:
    """The start command `stack up` runs (paths of the stack only, no user data)."""
    return (sys.executable, "-m", "stack.worker", str(layout.database), str(layout.mail),
            str(pidfile(layout)))


def hold_open(database_path: Path) -> sqlite3.Connection:
    """A connection to the database in WAL mode, its index shared with the daemons' group."""
    connection = sqlite3.connect(database_path, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL").fetchone()  # creates -wal and -shm
    perms.share_wal_index(database_path)
    return connection


def work(database, mail_root: Path) -> bool:
    """Run the oldest queued job, if any; True when one ran."""
    from core.models import AdminJob
    from core.services.server import jobs

    with database.transaction() as session:
        job = jobs.claim(session)
        job_id = job.id if job else None
    if job_id is None:
        return False
    with database.transaction() as session:
        jobs.run(session, session.get(AdminJob, job_id), mail_root)
    return True


def serve(database, mail_root: Path) -> None:
    """Poll for jobs until SIGTERM."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.services.server import jobs

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    with database.transaction() as session:
        jobs.requeue_interrupted(session)
    while not stopping:
        try:
            if work(database, mail_root):
                continue
        except SQLAlchemyError as exc:
            log.warning("database unavailable: %s", exc)
        time.sleep(POLL_SECONDS)


def main(args: list[str]) -> int:
    """Check the arguments, move to the background, write the pidfile and serve."""
    log_to_stderr("worker")
    if len(args) != 3:
        log.error("usage: python -m stack.worker DATABASE MAIL_ROOT PIDFILE")
        return 2
    database_path, mail_root, pid_path = (Path(a) for a in args)
    if not database_path.is_file():
        log.error("no database at %s", database_path)
        return 1
    keeper = detach(pid_path, lambda: hold_open(database_path))
    from core.db import Database

    database = Database()
    database.configure(f"sqlite:///{database_path}")
    try:
        serve(database, mail_root)
    finally:
        keeper.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

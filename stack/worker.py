"""`python -m stack.worker SETTINGS PIDFILE`: the stack's privileged worker.

Started by `stack up` like the mail daemons (stack/daemons.py), before Dovecot and
Postfix, as root. It is the one process of ours that keeps root's powers, and does
three things:

- It is the privileged helper (stack/privileged.py): the unprivileged web app asks
  it, over a Unix socket, for the typed operations that need root.
- It runs queued jobs: erasing the mail of deleted mailboxes when an admin asked for
  it (core/services/jobs.py).
- It holds the database open for as long as it runs. The database is in WAL mode,
  and SQLite removes the WAL index (-shm) when the last connection closes; Postfix
  opens it read-only and can neither create that index nor recover it, so with no
  connection open its next lookup would fail. One connection held here keeps the
  index in place, writable by the daemons' group (stack/perms.py).

SETTINGS is the JSON file of the stack's settings that `stack up` writes (secrets are
not in it: they are read from their files).
"""
from __future__ import annotations

import json
import logging
import os
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


def settings_file(layout) -> Path:
    """The stack's settings as `stack up` last applied them (root only)."""
    return layout.records / "settings.json"


def write_settings(layout, cfg: dict) -> None:
    """Save CFG without its secrets for the worker (it reads those from their files)."""
    from core.config import DEFAULTS, SECRET_KEYS

    values = {k: cfg[k] for k in DEFAULTS if k in cfg and k not in SECRET_KEYS}
    path = settings_file(layout)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(values, handle, indent=1, sort_keys=True)


def argv(layout) -> tuple[str, ...]:
    """The start command `stack up` runs (paths of the stack only, no user data)."""
    return (sys.executable, "-m", "stack.worker", str(settings_file(layout)), str(pidfile(layout)))


def hold_open(database_path: Path) -> sqlite3.Connection:
    """A connection to the database in WAL mode, its index shared with the daemons' group."""
    connection = sqlite3.connect(database_path, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL").fetchone()  # creates -wal and -shm
    perms.share_wal_index(database_path)
    return connection


def work(database, mail_root: Path) -> bool:
    """Run the oldest queued job, if any; True when one ran."""
    from core.models import AdminJob
    from core.services import jobs

    with database.transaction() as session:
        job = jobs.claim(session)
        job_id = job.id if job else None
    if job_id is None:
        return False
    with database.transaction() as session:
        jobs.run(session, session.get(AdminJob, job_id), mail_root)
    return True


def read_settings(path: Path) -> dict:
    """The stack's settings from the file `stack up` wrote, secrets from their files."""
    from core.config import load_config

    return load_config(json.loads(path.read_text(encoding="utf-8")), environ={})


def serve(database, mail_root: Path, on_hangup) -> None:
    """Poll for jobs until SIGTERM; on SIGHUP call ON_HANGUP (settings changed)."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.services import jobs

    stopping, hangups = [], []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGHUP, lambda *_: hangups.append(True))
    with database.transaction() as session:
        jobs.requeue_interrupted(session)
    while not stopping:
        if hangups:
            hangups.clear()
            on_hangup()
        try:
            if work(database, mail_root):
                continue
        except SQLAlchemyError as exc:
            log.warning("database unavailable: %s", exc)
        time.sleep(POLL_SECONDS)


def main(args: list[str]) -> int:
    """Check the arguments, move to the background, write the pidfile and serve."""
    log_to_stderr("worker")
    if len(args) != 2:
        log.error("usage: python -m stack.worker SETTINGS PIDFILE")
        return 2
    from core.db import Database

    from .layout import Layout
    from .privileged import Helper, app_group, serve_in_thread, socket_path

    settings, pid_path = Path(args[0]), Path(args[1])
    cfg = read_settings(settings)
    layout = Layout.from_config(cfg)
    if not layout.database.is_file():
        log.error("no database at %s", layout.database)
        return 1
    keeper = detach(pid_path, lambda: hold_open(layout.database))
    database = Database()
    database.configure(cfg["DATABASE_URL"])
    helper = Helper(cfg, database)
    stop_helper = serve_in_thread(socket_path(layout), helper, app_group())
    try:
        serve(database, layout.mail, lambda: helper.configure(read_settings(settings)))
    finally:
        stop_helper()
        keeper.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The worker daemon: the privileged helper, the job queue and the database keeper (see __init__)."""
from __future__ import annotations

import json
import logging
import signal
import sqlite3
import sys
import time
from pathlib import Path

from .. import carddav, directory_groups, perms
from ..background import detach, log_to_stderr
from . import directory_people, sender
from .acls import AclCheck

POLL_SECONDS = 1.0
LOG_CHECK_SECONDS = 60.0  # how often the housekeeping runs: log sizes, abandoned uploads
log = logging.getLogger("mailroom.worker")


def hold_open(database_path: Path) -> sqlite3.Connection:
    """A connection to the database in WAL mode, its index shared with the daemons' group."""
    connection = sqlite3.connect(database_path, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL").fetchone()  # creates -wal and -shm
    perms.share_wal_index(database_path)
    return connection


def work(database, mail_root: Path, books: Path) -> bool:
    """Run the oldest queued job, if any; True when one ran."""
    from core.models import AdminJob
    from core.services.server import jobs

    with database.transaction() as session:
        job = jobs.claim(session)
        job_id = job.id if job else None
    if job_id is None:
        return False
    with database.transaction() as session:
        jobs.run(session, session.get(AdminJob, job_id), mail_root, books)
    return True


def read_settings(path: Path) -> dict:
    """The stack's settings from the file `stack up` wrote, secrets from their files."""
    from core.config import load_config

    return load_config(json.loads(path.read_text(encoding="utf-8")), environ={})


def purge_uploads(database, data_dir: Path) -> None:
    """Remove the compose uploads of ended web sessions and of forms untouched for two days."""
    from core.services.access import signin
    from core.services.mail import uploads

    with database.transaction() as session:
        live = signin.all_session_ids(session)
    removed = uploads.purge(data_dir, live)
    if removed:
        log.info("removed %d abandoned compose workspaces", removed)


def housekeeping(database, data_dir: Path, settings: Path, check_acls: AclCheck) -> None:
    """The worker's once-a-minute chores: oversized logs, abandoned uploads, shared
    mailboxes' ACLs (when due)."""
    check_logs(settings)
    purge_uploads(database, data_dir)
    check_acls()


def check_logs(settings: Path) -> None:
    """Rotate the stack's logs that outgrew MAILROOM_LOG_ROTATE_MB.

    The settings are read afresh each time, so changed limits apply without a restart;
    a failure is logged and tried again next time, never ends the worker.
    """
    from ..errors import StackError
    from ..layout import Layout
    from ..logs import limits, rotate

    try:
        cfg = read_settings(settings)
        rotate(Layout.from_config(cfg), *limits(cfg))
    except (StackError, OSError, ValueError) as exc:
        log.warning("log rotation failed: %s", exc)


def record_master_login(database, address: str, master: str, protocol: str, remote: str) -> None:
    """Write one master-user login into the audit log, with the client's address."""
    from core.services.access import audit

    with database.transaction() as session:
        audit.record_master_login(session, address, master, protocol, remote)
    log.info("master login: %s as %s over %s from %s", master, address, protocol, remote)


def record_app_login(database, password_id: int, remote: str) -> None:
    """Note the last use of an app password: the time and the client's address."""
    from core.services.access import app_passwords

    with database.transaction() as session:
        app_passwords.record_use(session, password_id, remote)


def start_policy(cfg: dict, layout, database) -> tuple:
    """Serve Dovecot's auth policy (stack/worker/policy.py); return its counts and a stop function."""
    import functools
    import ipaddress

    from core.services.access.throttle import FailedLogins

    from .. import secretfiles
    from ..layout import APP_NETWORKS
    from .policy import serve_in_thread

    exempt = tuple(ipaddress.ip_network(network) for network in APP_NETWORKS.split())
    logins = FailedLogins(cfg["LOGIN_LIMIT_IP"], exempt)
    stop = serve_in_thread(cfg["LISTEN_ADDRESS"], int(cfg["AUTH_POLICY_PORT"]),
                           secretfiles.auth_policy_key(cfg, layout), logins,
                           functools.partial(record_master_login, database),
                           functools.partial(record_app_login, database))
    return logins, stop


def serve(database, mail_root: Path, books: Path, on_hangup, every_minute) -> None:
    """Poll for jobs until SIGTERM; on SIGHUP call ON_HANGUP (settings changed). MAIL_ROOT
    and BOOKS hold the mail directories and the address books the jobs archive or erase.

    EVERY_MINUTE is called about once a minute, between jobs.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from core.services.server import jobs

    stopping, hangups = [], []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGHUP, lambda *_: hangups.append(True))
    with database.transaction() as session:
        jobs.requeue_interrupted(session)
    next_check = time.monotonic()
    while not stopping:
        if hangups:
            hangups.clear()
            on_hangup()
        try:
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + LOG_CHECK_SECONDS
                every_minute()
            if work(database, mail_root, books):
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

    from ..layout import Layout
    from ..privileged import Helper, app_group, serve_in_thread, socket_path

    settings, pid_path = Path(args[0]), Path(args[1])
    cfg = read_settings(settings)
    layout = Layout.from_config(cfg)
    if layout.database is not None and not layout.database.is_file():
        log.error("no database at %s", layout.database)
        return 1
    # PostgreSQL has no WAL index for Postfix to share: nothing to hold open.
    keeper = detach(pid_path, lambda: layout.database and hold_open(layout.database))
    database = Database()
    database.configure(cfg["DATABASE_URL"])
    helper = Helper(cfg, database)
    stop_helper = serve_in_thread(socket_path(layout), helper, app_group())
    check_acls = AclCheck(database, lambda: helper.cfg)
    logins, stop_policy = start_policy(cfg, layout, database)
    stop_sender = sender.start(database, lambda: helper.cfg)
    stop_groups = directory_groups.start(
        layout, lambda: helper.cfg, lambda tree: directory_people.record(database, layout, tree),
        lambda tree: helper.follow_directory_groups(directory_groups.groups_by_address(tree)))

    def reconfigure() -> None:
        changed = read_settings(settings)
        helper.configure(changed)
        logins.set_limit(changed["LOGIN_LIMIT_IP"])

    try:
        serve(database, layout.mail, carddav.storage(layout), reconfigure,
              lambda: housekeeping(database, layout.data_dir, settings, check_acls))
    finally:
        stop_groups()
        stop_sender()
        stop_policy()
        stop_helper()
        if keeper:
            keeper.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

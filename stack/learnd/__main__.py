"""`python -m stack.learnd CONFIG`: start the Junk-training queue worker in the background.

Run by `stack up` as root (stack/daemons.py): it reads the controller password, moves
to the background, writes its pidfile, then runs as the mail uid, which owns the queue.
"""
from __future__ import annotations

import configparser
import logging
import pwd
import signal
import sys
import threading
import time
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from core.db import Database, transaction_at
from core.mail import rspamd
from core.mail.errors import MailError, ServiceUnavailable
from core.mail.learnspool import BadEntry, Spool
from core.services.spam.learning import SKIPPED, may_train

from .. import directory_groups
from ..background import detach, drop_privileges, log_to_stderr
from . import LearnConfig, read_config

log = logging.getLogger("mailroom.learnd")
POLL = 0.25  # seconds between looks at an empty queue
FIRST_RETRY, MAX_RETRY = 0.5, 5.0  # the pause after a failure doubles up to MAX_RETRY
LEARN_TIMEOUT = 30.0
STALE_TMP = 3600.0  # a half-written entry this old was left by a pipe program that died


class Worker:
    """Drains the spool into Rspamd, oldest first, keeping whatever could not be sent."""

    def __init__(self, spool: Spool, settings: rspamd.RspamdSettings, database: Database,
                 owner: int, directory_groups: Path) -> None:
        self.spool, self.settings, self.database, self.owner = spool, settings, database, owner
        self.directory_groups = directory_groups
        self.state = spool.read_state()
        self.stopping = threading.Event()

    def run(self) -> None:
        """Work until stopped: learn what waits, or wait for the next look or retry."""
        while not self.stopping.is_set():
            names = self.spool.names()
            pause = (self.state.next_try_at or 0.0) - time.time()
            if not names or pause > 0:
                self.stopping.wait(min(max(pause, POLL), MAX_RETRY) if names else POLL)
                continue
            self.drain(names)

    def drain(self, names: list[str]) -> None:
        """Learn NAMES in order; stop at the first failure that retrying may cure."""
        for name in names:
            if self.stopping.is_set():
                return
            try:
                self.process(name)
            except (MailError, SQLAlchemyError) as exc:
                self.failed(exc)
                return
            self.succeeded()

    def process(self, name: str) -> None:
        """Learn one entry (or skip it), record the outcome, and take it off the queue."""
        try:
            entry = self.spool.read(name, self.owner)
        except BadEntry as exc:
            log.warning("removing %s from the queue: %s", name, exc)
            self.spool.remove(name)
            return
        if not self._may_train(entry.user):
            outcome, detail = SKIPPED, f"{entry.user} is not in the spamtrainers group"
        else:
            try:
                outcome, detail = rspamd.learn(self.settings, entry.kind, entry.raw), ""
            except rspamd.LearnRefused as exc:
                outcome, detail = rspamd.REFUSED, str(exc)
        log.info("%s %s from %s: %s %s", entry.kind, name, entry.user, outcome, detail)
        self.state.record(entry, outcome, detail)
        self.spool.remove(name)

    def _may_train(self, user: str) -> bool:
        with self.database.transaction() as session:
            return may_train(session, user, directory_groups.read(self.directory_groups))

    def failed(self, exc: Exception) -> None:
        """Remember the error and pause before the next attempt (doubling, up to a limit)."""
        now = time.time()
        self.state.failures += 1
        message = str(exc) if isinstance(exc, MailError) else f"database: {exc}"
        if self.state.failures == 1 or message != self.state.last_error:
            log.warning("learning failed, will retry: %s", message)
        delay = min(MAX_RETRY, FIRST_RETRY * 2 ** (self.state.failures - 1))
        self.state.last_error, self.state.last_error_at = message, now
        self.state.next_try_at = now + delay
        self.spool.write_state(self.state)

    def succeeded(self) -> None:
        """Note that the queue moves again."""
        if self.state.failures:
            log.info("Rspamd takes messages again after %d failed attempts", self.state.failures)
        self.state.failures, self.state.next_try_at = 0, None
        self.state.last_success_at = time.time()
        self.spool.write_state(self.state)


def main(argv: list[str]) -> int:
    """Start the worker from its config file; 0 once it runs in the background."""
    log_to_stderr("learnd")
    if len(argv) != 1:
        log.error("usage: python -m stack.learnd CONFIG")
        return 2
    try:
        config = read_config(Path(argv[0]))
        user = pwd.getpwnam(config.user)
        settings = controller_settings(config)
        warm_up(config, settings)
    except (OSError, KeyError, ValueError, configparser.Error, SQLAlchemyError) as exc:
        log.error("cannot start: %s", exc)
        return 1
    detach(config.pidfile)
    drop_privileges(user.pw_uid, user.pw_gid)
    database = Database()
    database.configure(config.database_url, private=False)  # it reads groups, never a secret
    worker = Worker(Spool(config.spool), settings, database, user.pw_uid, config.directory_groups)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stopping.set())
    log.info("taking learn requests from %s to Rspamd at %s:%s", config.spool,
             config.controller_host, config.controller_port)
    worker.run()
    log.info("stopped with %d request(s) waiting", worker.spool.length())
    return 0


def controller_settings(config: LearnConfig) -> rspamd.RspamdSettings:
    """How to reach the controller; the password is read now, while still root."""
    password = config.password_file.read_text(encoding="utf-8").strip()
    return rspamd.RspamdSettings(config.controller_host, config.controller_port, 0, password,
                                 config.controller_host, 0, LEARN_TIMEOUT)


def warm_up(config: LearnConfig, settings: rspamd.RspamdSettings) -> None:
    """Exercise each path of the work once, so every module it loads lazily is imported now.

    Python may live under a directory only root can read (/root/.pyenv); once we run as
    the mail uid, a module not imported yet could no longer be found. This also proves
    the database readable and removes half-written entries a crash left behind.
    """
    with transaction_at(config.database_url) as session:
        may_train(session, "warm-up@mailroom.invalid")
    probe = rspamd.RspamdSettings(settings.host, settings.controller_port, 0, settings.password,
                                  settings.host, 0, 2.0)
    try:
        rspamd.request(probe, "GET", "/ping")
    except ServiceUnavailable:
        pass  # Rspamd may still be starting; the error path is warmed up instead
    cutoff = time.time() - STALE_TMP
    for path in Spool(config.spool).tmp.iterdir():
        if path.lstat().st_mtime < cutoff:
            path.unlink()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

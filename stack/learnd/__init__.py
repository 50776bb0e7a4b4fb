"""The Junk-training queue worker: Dovecot queues, this process teaches Rspamd.

Dovecot's IMAPSieve scripts pipe every message moved into or out of Junk to a small
program that writes it into the spool (core.mail.learnspool) and exits, so a move never
waits for Rspamd. This worker takes the spool in order, checks that the person may
train (the `spamtrainers` group, read from the app's database and the directory's
groups file at learn time), and posts
the message to Rspamd's controller. While Rspamd is down it keeps everything and retries
with a growing pause; "already learned" counts as done.

This module is imported by the stack's renderer and daemon list: no heavy imports here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..background import read_section

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def config_file(layout) -> Path:
    """Where `stack up` renders the worker's settings (stack/templates/learnd)."""
    return layout.etc / "learnd" / "learnd.conf"


def password_file(layout) -> Path:
    """The controller password for the worker, root-only (read before it drops root)."""
    return layout.etc / "learnd" / "rspamd_password"


def pidfile(layout) -> Path:
    """The pidfile the worker writes once it runs in the background."""
    return layout.run / "learnd.pid"


def spool_dir(layout) -> Path:
    """The queue Dovecot's pipe program writes (as the mail uid) and the worker reads."""
    return layout.root / "spool" / "learn"


@dataclass(frozen=True)
class LearnConfig:
    """The worker's settings, e.g. LearnConfig(Path('/…/spool/learn'), …, '127.0.0.1', …)."""

    spool: Path
    database_url: str  # the app's database (a PostgreSQL one holds a password: 0600 file)
    controller_host: str
    controller_port: int
    password_file: Path
    pidfile: Path
    user: str
    directory_groups: Path  # absent unless MAILROOM_ACCOUNT_PROVIDER=ldap


def read_config(path: Path) -> LearnConfig:
    """Parse the rendered learnd.conf."""
    section = read_section(path, "learnd")
    host, _, port = section["controller"].rpartition(":")
    return LearnConfig(
        spool=Path(section["spool"]), database_url=section["database_url"],
        controller_host=host, controller_port=int(port),
        password_file=Path(section["password_file"]), pidfile=Path(section["pidfile"]),
        user=section["user"], directory_groups=Path(section["directory_groups"]),
    )

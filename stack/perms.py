"""Directories, owners and modes: what each daemon's user may read, write or traverse."""
from __future__ import annotations

import grp
import logging
import os
import pwd
import stat
import subprocess
from pathlib import Path

from core.config import PRIVATE_DATABASE_MODE

from .errors import StackError

log = logging.getLogger(__name__)
USERADD = ("useradd", "--system", "--user-group", "--no-create-home",
           "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin")

# The unprivileged user the web app runs as; the privileged helper's socket is its group's.
APP_USER = "mailroom"
# The user that owns the Maildirs (Debian's `mail`, uid 8) and runs Sieve programs.
MAIL_USER = "mail"
# Users that must reach files under STACK_DIR.
DAEMON_USERS = ("mail", "postfix", "_rspamd", "redis", "dovecot", "clamav")
# The database (the directory, no secrets): mailroom:postfix 0640, in a folder of its
# own (mailroom:postfix 0750) where SQLite can create its WAL files. The web app owns
# it; Postfix's lookup tables read it as postfix (whose primary group only counts),
# Dovecot's SQL userdb from its root auth worker; learnd and the disclaimer filter
# join this group when they drop root. Password hashes and sealed credentials are in
# the private database beside it (core/db.py), the web app's alone with its WAL files
# (mailroom:mailroom 0600): Dovecot's passdb reads it as root, nobody else.
DATABASE_GROUP = "postfix"
DATABASE_DIR_MODE = 0o750
DATABASE_MODE = 0o640
DATABASE_READERS = ("postfix",)
# The database runs in WAL mode (core/db.py), so readers never wait for a writer. A WAL
# reader must be able to write the shared-memory index (-shm): one that can only read it
# falls back to a mode in which opening the database fails now and then while a writer
# checkpoints, and for Postfix any failed lookup is fatal. SQLite gives both files the
# database's own mode when it creates them; the -shm file then gets this one.
WAL_INDEX_MODE = 0o660


def system_user(name: str) -> tuple[int, int]:
    """(uid, gid) of one of our system users (no home, no shell), created the first time."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        result = subprocess.run([*USERADD, name], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, check=False)
        try:  # a stack starting in parallel may have created it meanwhile
            entry = pwd.getpwnam(name)
        except KeyError:
            raise StackError(f"could not create system user {name}: {result.stderr.strip()}") from None
        log.info("created system user %s", name)
    return entry.pw_uid, entry.pw_gid


def ids(user: str | None, group: str | None) -> tuple[int, int]:
    """(uid, gid) for a user and group name: no user is root, no group the user's own."""
    try:
        entry = pwd.getpwnam(user) if user else pwd.getpwuid(0)
        gid = grp.getgrnam(group).gr_gid if group else entry.pw_gid
    except KeyError as exc:
        raise StackError(
            f"system user or group missing: {exc.args[0]} (are the packages installed?)"
        ) from exc
    return entry.pw_uid, gid


def ensure_dir(path: Path, mode: int, user: str | None = None, group: str | None = None) -> None:
    """Create PATH if needed and give it exactly this owner and mode."""
    path.mkdir(parents=True, exist_ok=True)
    set_owner(path, mode, user, group)


def set_owner(path: Path, mode: int, user: str | None = None, group: str | None = None) -> None:
    """chown and chmod PATH (no-op when they already match)."""
    uid, gid = ids(user, group)
    st = path.stat()
    if (st.st_uid, st.st_gid) != (uid, gid):
        os.chown(path, uid, gid)
    if stat.S_IMODE(st.st_mode) != mode:
        path.chmod(mode)


def ensure_file(path: Path, mode: int, user: str | None = None, group: str | None = None) -> None:
    """Create an empty file if missing (a log a daemon appends to) with this owner and mode."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, mode)
        os.close(fd)
    set_owner(path, mode, user, group)


def share_wal_index(database: Path) -> None:
    """Let the database's group write its WAL index and read its log (the database's owner)."""
    st = database.stat()
    for suffix, mode in (("-wal", DATABASE_MODE), ("-shm", WAL_INDEX_MODE)):
        path = database.with_name(database.name + suffix)
        if path.exists():
            os.chown(path, st.st_uid, st.st_gid)
            path.chmod(mode)


def keep_private(database: Path) -> None:
    """The private database and its WAL files: the web app's own, 0600."""
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            set_owner(path, PRIVATE_DATABASE_MODE, APP_USER, APP_USER)


def can_access(path: Path, user: str, bits: int) -> bool:
    """Whether USER has permission BITS (os.R_OK/W_OK/X_OK as 4/2/1) on PATH by its mode."""
    entry = pwd.getpwnam(user)
    st = path.stat()
    if entry.pw_uid == 0:
        return True
    if st.st_uid == entry.pw_uid:
        return (st.st_mode >> 6) & bits == bits
    if st.st_gid in os.getgrouplist(user, entry.pw_gid):
        return (st.st_mode >> 3) & bits == bits
    return st.st_mode & bits == bits


def check_reachable(path: Path, users=DAEMON_USERS, read: bool = False) -> None:
    """Raise StackError unless every existing ancestor of PATH is traversable by USERS.

    With READ, PATH itself must also be readable by them.
    """
    missing = [user for user in users if _user_exists(user)]
    for parent in reversed(path.parents):
        if not parent.exists():
            break
        for user in missing:
            if not can_access(parent, user, os.X_OK):
                raise StackError(
                    f"{parent} is not traversable by user {user!r}, which needs to reach {path}: "
                    f"run `chmod o+x {parent}` or choose another MAILROOM_DATA_DIR/STACK_DIR"
                )
    if read and path.exists():
        for user in missing:
            if not can_access(path, user, os.R_OK):
                raise StackError(f"{path} is not readable by user {user!r}: run `chmod o+r {path}`")


def _user_exists(user: str) -> bool:
    """Whether the system knows USER (a package that creates it may not be installed yet)."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True

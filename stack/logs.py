"""Size-based rotation of the local stack's logs (STACK_DIR/log/NAME.log -> NAME.log.1.gz ...).

Each daemon is made to write into a fresh file by its own mechanism where it has one:
Dovecot's `doveadm log reopen`, Rspamd's SIGUSR1 to its master (which passes it on
to its workers), `postfix reload` for postlogd (a new postlogd opens maillog_file
afresh; `postfix logrotate` does the same but names its files by date, and we keep
numbered generations), and nothing for Redis, which opens its logfile for every line.
Our own daemons (learnd, the disclaimer filter, the worker) write to the standard
error their start command opened O_APPEND: that file is copied, then truncated.
"""
from __future__ import annotations

import fcntl
import gzip
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import procs
from .daemons import ENV, running
from .errors import StackError
from .layout import DAEMONS, Layout

log = logging.getLogger(__name__)
# Logs whose writer cannot reopen: copied, then truncated. A line written between the
# copy and the truncation is lost; with O_APPEND writers nothing is ever written at
# an old offset, so the fresh file never starts with a hole.
COPY_TRUNCATE = ("learnd", "disclaimer", "worker", "carddav")
# Daemons that reopen their log on a signal (Rspamd's master tells its workers).
REOPEN_SIGNALS = {"rspamd": signal.SIGUSR1, "clamd": signal.SIGHUP}
# How long a daemon may take to let go of the renamed file before it is compressed.
RELEASE_TIMEOUT = 10.0
MIB = 1024 * 1024


@dataclass(frozen=True)
class Rotated:
    """One log rotated, e.g. Rotated("postfix", 52_428_900, 0.41)."""

    name: str
    size: int
    seconds: float


def limits(cfg: dict) -> tuple[int, int]:
    """(size in bytes above which a log is rotated, generations kept) from the settings."""
    size_mb, keep = int(cfg["LOG_ROTATE_MB"]), int(cfg["LOG_KEEP"])
    if size_mb < 1 or keep < 1:
        raise StackError("MAILROOM_LOG_ROTATE_MB and MAILROOM_LOG_KEEP must be at least 1")
    return size_mb * MIB, keep


def generation(layout: Layout, name: str, number: int) -> Path:
    """The file of an older generation: postfix.log.1.gz is the newest."""
    return layout.log / f"{name}.log.{number}.gz"


def rotate(layout: Layout, limit: int, keep: int, names=DAEMONS) -> list[Rotated]:
    """Rotate each log of NAMES larger than LIMIT bytes, keeping KEEP gzipped generations.

    A LIMIT of 0 rotates every log that is not empty. Runs as root (it signals the
    daemons and keeps each file's owner); one rotation of a stack at a time.
    """
    if os.geteuid() != 0:
        raise StackError("rotating the stack's logs needs root (it signals the daemons)")
    done = []
    with open(layout.records / "logrotate.lock", "w", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name in names:
            path = layout.log_file(name)
            size = path.stat().st_size if path.is_file() else 0
            if size > limit:
                began = time.monotonic()
                _rotate_one(layout, name, keep)
                done.append(Rotated(name, size, time.monotonic() - began))
                log.info("rotated %s (%d bytes)", path, size)
    return done


def _rotate_one(layout: Layout, name: str, keep: int) -> None:
    """Move the generations up by one and make the current log the newest generation."""
    _shift(layout, name, keep)
    path, newest = layout.log_file(name), generation(layout, name, 1)
    if name in COPY_TRUNCATE:
        _compress(path, newest)
        os.truncate(path, 0)
        return
    moved = path.with_name(path.name + ".1")
    os.replace(path, moved)
    _recreate(path, moved.stat())
    _reopen(layout, name)
    _wait_released(layout, name, moved)
    _compress(moved, newest)
    moved.unlink()


def _shift(layout: Layout, name: str, keep: int) -> None:
    """Drop the oldest generation and rename each other one a number up."""
    generation(layout, name, keep).unlink(missing_ok=True)
    for number in range(keep - 1, 0, -1):
        older = generation(layout, name, number)
        if older.exists():
            os.replace(older, generation(layout, name, number + 1))


def _recreate(path: Path, old: os.stat_result) -> None:
    """An empty log in place of the moved one, with its owner and mode.

    Rspamd's workers and Redis write as their own users and cannot create a file in
    the root-owned log folder.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
        os.fchmod(fd, old.st_mode & 0o777)
    finally:
        os.close(fd)


def _reopen(layout: Layout, name: str) -> None:
    """Make NAME's running daemon open its log file again by its own mechanism."""
    if name == "dovecot":
        _run(("doveadm", "-c", str(layout.dovecot_conf), "log", "reopen"))
    elif name == "postfix":
        _run(("postfix", "-c", str(layout.postfix_etc), "reload"))
    elif name in REOPEN_SIGNALS:
        record = running(layout, name)
        if record:
            procs.send(record, REOPEN_SIGNALS[name])


def _run(argv: tuple[str, ...]) -> None:
    """Run a daemon's control command; failing, it says why (the daemon may be down)."""
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                env=ENV, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("%s failed: %s", " ".join(argv), exc)
        return
    if result.returncode != 0:
        log.warning("%s: exit %d: %s", argv[0], result.returncode, result.stderr.strip())


def _wait_released(layout: Layout, name: str, moved: Path) -> None:
    """Wait until none of the daemon's processes writes to the moved file any more.

    Reopening is asynchronous (postlogd finishes its work first, Rspamd's workers get
    the signal from their master). File descriptors 0-2 do not count: they are the
    start command's output, which Dovecot's master keeps but never logs to.
    """
    record = running(layout, name)
    if record is None:
        return
    old = moved.stat()
    deadline = time.monotonic() + RELEASE_TIMEOUT
    while _holders(record.pid, (old.st_dev, old.st_ino)):
        if time.monotonic() > deadline:
            log.warning("%s still writes to %s; compressing it anyway", name, moved)
            return
        time.sleep(0.05)


def _holders(pid: int, identity: tuple[int, int]) -> list[int]:
    """Pids in PID's process tree with the file IDENTITY (device, inode) open above fd 2."""
    found = []
    for member in procs.tree(pid):
        try:
            fds = os.listdir(f"/proc/{member.pid}/fd")
        except OSError:
            continue  # exited meanwhile
        for fd in fds:
            try:
                st = os.stat(f"/proc/{member.pid}/fd/{fd}")
            except OSError:
                continue
            if int(fd) > 2 and (st.st_dev, st.st_ino) == identity:
                found.append(member.pid)
                break
    return found


def _compress(source: Path, target: Path) -> None:
    """gzip SOURCE into TARGET (written aside, then renamed) with SOURCE's owner and mode."""
    st = source.stat()
    partial = target.with_name(f".{target.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with open(fd, "wb") as out, open(source, "rb") as raw, \
            gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6) as packed:
        shutil.copyfileobj(raw, packed, MIB)
    os.chown(partial, st.st_uid, st.st_gid)
    partial.chmod(st.st_mode & 0o777)
    os.replace(partial, target)

"""Start-up steps shared by the stack's own Python daemons (disclaimer filter, learnd, job worker).

Imported by their light __init__ modules too (the renderer and the daemon list read
those): no heavy imports here.
"""
from __future__ import annotations

import configparser
import grp
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Callable, TypeVar

from .perms import DATABASE_GROUP

T = TypeVar("T")


def read_section(path: Path, name: str) -> configparser.SectionProxy:
    """Section NAME of the rendered settings file PATH (no interpolation: values as written)."""
    parser = configparser.ConfigParser(interpolation=None)
    with open(path, encoding="utf-8") as handle:
        parser.read_file(handle)
    return parser[name]


def log_to_stderr(name: str) -> None:
    """Log INFO and up to standard error, each line naming the daemon NAME and its pid."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s {name}[%(process)d] %(levelname)s %(message)s")


def detach(pidfile: Path, setup: Callable[[], T] = lambda: None) -> T:
    """Move to the background, run SETUP there, then write PIDFILE; return SETUP's result.

    The parent exits here with status 0; `stack up` waits for the pidfile, so what
    SETUP does is in place before the next daemon starts.
    """
    if os.fork() > 0:
        os._exit(0)  # noqa: SLF001 - the parent only tells `stack up` the start went well
    result = setup()
    pidfile.write_text(f"{os.getpid()}\n", encoding="ascii")
    return result


def drop_privileges(uid: int, gid: int) -> None:
    """Run as UID and GID from now on, in the database's reader group too (groups
    first: setuid removes the right to change them)."""
    os.setgroups([grp.getgrnam(DATABASE_GROUP).gr_gid])
    os.setgid(gid)
    os.setuid(uid)


def repeat(name: str, seconds: float, step: Callable[[], None], log: logging.Logger,
           join_timeout: float = 30, at_once: bool = False) -> Callable[[], None]:
    """Run STEP every SECONDS (the first time at once with AT_ONCE) in a daemon thread NAME
    until the returned stop function is called; an exception is logged and the next round
    comes as usual."""
    stopping = threading.Event()

    def round_() -> None:
        try:
            step()
        except Exception:  # noqa: BLE001 - one bad round must not end the thread
            log.exception("%s failed; it goes on", name)

    def loop() -> None:
        if at_once:
            round_()
        while not stopping.wait(seconds):
            round_()

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()

    def stop() -> None:
        stopping.set()
        thread.join(timeout=join_timeout)
    return stop

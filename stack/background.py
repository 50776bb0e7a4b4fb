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
from pathlib import Path

from .perms import DATABASE_GROUP


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


def detach(pidfile: Path) -> None:
    """Move to the background and write PIDFILE; the parent exits here with status 0."""
    if os.fork() > 0:
        os._exit(0)  # noqa: SLF001 - the parent only tells `stack up` the start went well
    pidfile.write_text(f"{os.getpid()}\n", encoding="ascii")


def drop_privileges(uid: int, gid: int) -> None:
    """Run as UID and GID from now on, in the database's reader group too (groups
    first: setuid removes the right to change them)."""
    os.setgroups([grp.getgrnam(DATABASE_GROUP).gr_gid])
    os.setgid(gid)
    os.setuid(uid)

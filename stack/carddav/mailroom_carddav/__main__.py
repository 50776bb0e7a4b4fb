"""`python -m mailroom_carddav CONFIG PIDFILE`: start Radicale in the background as the radicale user.

Radicale 3 has no daemon mode, while `stack up` runs a start command that returns once
the daemon is in the background and has written its pidfile (stack/daemons.py). This
launcher, run as root, loads the configuration and the auth plugin (the checkout may be
unreadable to the radicale user), binds nothing itself, detaches, writes the pidfile,
drops root and serves.
"""
from __future__ import annotations

import grp
import logging
import os
import pwd
import sys
from pathlib import Path

from radicale import config, log as radicale_log, server
from radicale.app import Application

from . import USER, auth  # noqa: F401 - auth imported now, while the checkout is readable

log = logging.getLogger("mailroom.carddav")


def main(argv: list[str]) -> int:
    """Serve from the rendered configuration ARGV[0]; 0 in the parent once detached.
    `--check CONFIG`: load it and its plugins as serving would, then exit (0: usable)."""
    radicale_log.setup()
    if len(argv) == 2 and argv[0] == "--check":
        return check(argv[1])
    if len(argv) != 2:
        log.error("usage: python -m mailroom_carddav CONFIG PIDFILE | --check CONFIG")
        return 2
    try:
        configuration = config.load([(argv[0], False)])
        user = pwd.getpwnam(USER)
    except (RuntimeError, KeyError) as exc:
        log.error("cannot start: %s", exc)
        return 1
    radicale_log.set_level(configuration.get("logging", "level"))
    if os.fork() > 0:
        os._exit(0)  # noqa: SLF001 - `stack up` waits for the pidfile
    Path(argv[1]).write_text(f"{os.getpid()}\n", encoding="ascii")
    os.setgroups([grp.getgrnam(USER).gr_gid])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    server.serve(configuration)
    return 0


def check(path: str) -> int:
    """Whether Radicale accepts the configuration PATH and loads its auth, rights and
    storage plugins (what `stack install --system` asks before writing it)."""
    try:
        Application(config.load([(path, False)]))
    except Exception as exc:  # noqa: BLE001 - Radicale raises plain exceptions of many kinds
        log.error("Radicale refuses %s: %s", path, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

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

from . import USER, auth  # noqa: F401 - auth imported now, while the checkout is readable

log = logging.getLogger("mailroom.carddav")


def main(argv: list[str]) -> int:
    """Serve from the rendered configuration ARGV[0]; 0 in the parent once detached."""
    radicale_log.setup()
    if len(argv) != 2:
        log.error("usage: python -m mailroom_carddav CONFIG PIDFILE")
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

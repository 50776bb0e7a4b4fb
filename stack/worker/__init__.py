"""`python -m stack.worker SETTINGS PIDFILE`: the stack's privileged worker.

Started by `stack up` like the mail daemons (stack/daemons.py), before Dovecot and
Postfix, as root. It is the one process of ours that keeps root's powers, and does
five things:

- It is the privileged helper (stack/privileged.py): the unprivileged web app asks
  it, over a Unix socket, for the typed operations that need root.
- It runs queued jobs: erasing the mail of deleted mailboxes when an admin asked for
  it (core/services/server/jobs.py).
- It holds the database open for as long as it runs. The database is in WAL mode,
  and SQLite removes the WAL index (-shm) when the last connection closes; Postfix
  opens it read-only and can neither create that index nor recover it, so with no
  connection open its next lookup would fail. One connection held here keeps the
  index in place, writable by the daemons' group (stack/perms.py).
- It is Dovecot's auth policy server (stack/worker/policy.py): it counts failed logins
  per client address and refuses an address past MAILROOM_LOGIN_LIMIT_IP of them.
- It sends scheduled messages (Send later, and Send after its seconds of Undo) when
  their time comes, as their person (stack/worker/sender.py).

SETTINGS is the JSON file of the stack's settings that `stack up` writes (secrets are
not in it: they are read from their files).

This module is imported by the stack's renderer and daemon list: no heavy imports here
(the daemon itself is __main__.py).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def pidfile(layout) -> Path:
    """Where the worker writes its pid once it runs in the background."""
    return layout.run / "worker.pid"


def settings_file(layout) -> Path:
    """The stack's settings as `stack up` last applied them (root only)."""
    return layout.etc / "worker" / "settings.json"


def settings_text(cfg: dict) -> str:
    """CFG as the worker's settings file: JSON, without the secrets (read from their files)."""
    from core.config import DEFAULTS, SECRET_KEYS

    values = {k: cfg[k] for k in DEFAULTS if k in cfg and k not in SECRET_KEYS}
    return json.dumps(values, indent=1, sort_keys=True, default=str)


def write_settings(layout, cfg: dict) -> None:
    """Save CFG for the worker (`stack up`), root only."""
    path = settings_file(layout)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(settings_text(cfg))


def argv(layout) -> tuple[str, ...]:
    """The start command `stack up` runs (paths of the stack only, no user data)."""
    return (sys.executable, "-m", "stack.worker", str(settings_file(layout)), str(pidfile(layout)))



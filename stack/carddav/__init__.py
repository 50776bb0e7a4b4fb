"""The address book server: Debian's Radicale, run by the stack on a loopback port.

Phones, Thunderbird and the webmail (core/mail/carddav.py) keep their contacts there.
`python -m mailroom_carddav CONFIG PIDFILE` (run by `stack up` as root with Debian's python3, which
has python3-radicale) reads the rendered radicale.conf, moves to the background, writes
its pidfile and serves as the `radicale` user. Logins are checked by our plugin
(mailroom_carddav/auth.py) against Dovecot, so every person signs in as on IMAP.

This module is imported by the stack's renderer and daemon list: no heavy imports here.
"""
from __future__ import annotations

from pathlib import Path

from .mailroom_carddav import USER  # noqa: F401 - the user Radicale runs as

# Radicale's process finds the launcher and plugin (mailroom_carddav) here.
PLUGIN_PATH = Path(__file__).resolve().parent
# Debian's interpreter: python3-radicale is installed for it (not in the app's virtualenv).
PYTHON = "/usr/bin/python3"


def config_file(layout) -> Path:
    """Where `stack up` renders Radicale's configuration (stack/templates/carddav)."""
    return layout.etc / "carddav" / "radicale.conf"


def pidfile(layout) -> Path:
    """The pidfile the launcher writes once Radicale runs in the background."""
    return layout.run / "carddav.pid"


def storage(layout) -> Path:
    """Radicale's collections: one folder per person, written by the radicale user."""
    return layout.lib / "carddav"

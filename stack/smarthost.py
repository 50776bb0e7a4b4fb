"""The smarthost: Postfix's values for sending all mail for other domains through one host.

main.cf names it as `relayhost = [host]:port` with `default_transport = smarthost`, a
service of master.cf that carries the smarthost's TLS mode and SASL sign-in as its own
`-o` settings: relay domains keep their transport (transport_maps names their host,
which wins over relayhost) and never see the smarthost's TLS demands or its password.

The password reaches Postfix through `smtp_sasl_password_maps = texthash:FILE`, FILE
root's alone (0600): Postfix's smtp client opens its lookup tables as root before it
drops privileges, and texthash is read whole at that moment (no postmap, no .db file;
every change reloads Postfix anyway). The database holds the password sealed with the
helper's key (stack/secretfiles.py), bound to the host and port it was given for: a
blob moved to another host opens to nothing, so whoever can write the database still
cannot have the password sent somewhere else.
"""
from __future__ import annotations

import logging
from pathlib import Path

from . import secretfiles
from .errors import StackError
from .layout import Layout

log = logging.getLogger(__name__)
SERVICE = "smarthost"  # master.cf's service (and default_transport) for the smarthost
MAX_PASSWORD = 255
# TLS mode -> (smtp_tls_security_level, smtp_tls_wrappermode). `encrypt` insists on TLS
# but verifies no certificate (Postfix's `verify` would need the host's CA and name).
TLS = {"none": ("none", "no"), "starttls": ("encrypt", "no"), "ssl": ("encrypt", "yes")}


def password_file(layout: Layout) -> Path:
    """The texthash: table `[host]:port user:password` (root's, 0600)."""
    return layout.postfix_etc / "smarthost_password"


def seal(layout: Layout, host: str, port: int, password: str) -> str:
    """PASSWORD sealed for HOST:PORT with the helper's key (created the first time)."""
    return secretfiles.seal_fields(layout, {"host": host, "port": port, "password": password})


def unseal(layout: Layout, sealed: bytes, host: str, port: int) -> str | None:
    """The password in SEALED if it was sealed here for HOST:PORT; None otherwise (logged)."""
    from core.vault import VaultError

    try:
        found = secretfiles.unseal_fields(layout, sealed)
    except VaultError as exc:
        log.error("the smarthost's password cannot be opened (%s): enter it again", exc)
        return None
    if (found.get("host"), found.get("port")) != (host, port):
        log.error("the smarthost's password was given for [%s]:%s, not [%s]:%s: not sent",
                  found.get("host"), found.get("port"), host, port)
        return None
    return found.get("password")


def template_values(cfg: dict, layout: Layout, stored, sealed: bytes | None) -> dict:
    """main.cf's and master.cf's smarthost values for the STORED settings (a ServerSettings)
    and the SEALED password; the password file's single line (or nothing)."""
    host, port, user = stored.smarthost_host, stored.smarthost_port, stored.smarthost_username
    if stored.smarthost_tls not in TLS:
        raise StackError(f"unknown smarthost TLS mode {stored.smarthost_tls!r}")
    level, wrapper = TLS[stored.smarthost_tls]
    password = unseal(layout, sealed, host, port) if host and user and sealed else None
    sign_in = f"[{host}]:{port} {user}:{password}" if password else ""
    return {
        "relayhost": f"[{host}]:{port}" if host else "",
        "outbound_transport": SERVICE if host else layout.site_values(cfg)["default_transport"],
        "smarthost_tls_level": level, "smarthost_tls_wrapper": wrapper,
        "smarthost_sasl": "yes" if sign_in else "no",
        "smarthost_password_file": password_file(layout), "smarthost_sign_in": sign_in,
    }

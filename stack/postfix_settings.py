"""The server settings' part of the stack: Postfix values read from the database at render time.

`render_all` (so `stack up` and every reload) calls `template_values`, which reads the
row that Admin → Server stores (core.models.server) and returns main.cf's values; the
templates quote each by its syntax (int, hostname, networks, postfix). The services
never reach here directly: they ask the privileged helper to apply the settings, which
renders, has `postfix check` read the result (stack/checks.py) and reloads Postfix.
"""
from __future__ import annotations

import ipaddress
import json
import subprocess

from . import smarthost
from .errors import StackError
from .layout import Layout

MIB = 1024 * 1024
# Always inside: the web app and the stack's own services submit from here.
LOOPBACK = "127.0.0.1/32"


def template_values(cfg: dict, layout: Layout) -> dict:
    """main.cf's message size, queue lifetime, always-Bcc, HELO name, mynetworks, port-25 AUTH
    and smarthost (with master.cf's smarthost service and its password file)."""
    from core.db import transaction_at
    from core.models.server import SMARTHOST_PASSWORD, sealed_secret, server_settings

    with transaction_at(layout.url) as session:
        stored = server_settings(session, int(cfg["MESSAGE_SIZE_LIMIT_MB"]))
        networks = [LOOPBACK, *stored.networks()]
        if stored.relay_trusted_networks:
            networks += machine_networks()
        return {
            "message_size_limit": stored.message_size_mb * MIB,
            "queue_lifetime_days": stored.queue_lifetime_days,
            "always_bcc": stored.always_bcc,
            "helo_name": stored.helo_name or cfg["MAIL_HOSTNAME"],
            "mynetworks": " ".join(dict.fromkeys(networks)),
            "port25_auth": "yes" if stored.auth_on_port_25 else "no",
            # Submission (587) demands STARTTLS before AUTH unless unencrypted sign-in is
            # allowed; port 465 is TLS from the first byte either way.
            "submission_tls_level": "may" if stored.allow_unencrypted else "encrypt",
            "submission_tls_auth_only": "no" if stored.allow_unencrypted else "yes",
            # Without SASL, smtpd would warn about this restriction on every connection.
            "port25_sender_restrictions":
                "reject_authenticated_sender_login_mismatch" if stored.auth_on_port_25 else "",
            **smarthost.template_values(cfg, layout, stored, sealed_secret(session, SMARTHOST_PASSWORD)),
        }


def machine_networks() -> list[str]:
    """The IPv4 networks of this machine's interfaces, loopback included (what Postfix's
    mynetworks_style = subnet would trust), e.g. ['127.0.0.0/8', '192.168.1.0/24']."""
    try:
        shown = subprocess.run(["ip", "-json", "-4", "address", "show"], capture_output=True,
                               text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise StackError(f"cannot list this machine's networks (ip address show): {exc}") from exc
    return [str(ipaddress.IPv4Interface(f"{a['local']}/{a['prefixlen']}").network)
            for link in json.loads(shown) for a in link.get("addr_info", []) if a.get("family") == "inet"]

"""A system install: Debian's own Postfix, Dovecot, Rspamd and Redis on the standard ports.

The same templates as the loopback stack, rendered for the system's paths (under a
PREFIX, "/" on the real machine; tests render into a temporary root), with TLS from
the admin's certificate, delivery to the internet, and the system's logs (syslog and
the journal). Mailroom's own processes become systemd units (stack/sysinstall.py).
"""
from __future__ import annotations

from pathlib import Path

from .layout import CLAMD_SOCKET, under_root

# The standard ports (RFC 6409, 8314, 9051, 1939, 5804) and Rspamd's and Redis's own.
SYSTEM_PORTS = {
    "SMTP_PORT": 25, "SUBMISSION_PORT": 587, "SMTPS_PORT": 465, "IMAP_PORT": 143,
    "IMAPS_PORT": 993, "POP3_PORT": 110, "POP3S_PORT": 995, "SIEVE_PORT": 4190,
    "RSPAMD_PROXY_PORT": 11332, "RSPAMD_NORMAL_PORT": 11333, "RSPAMD_CONTROLLER_PORT": 11334,
    "REDIS_PORT": 6379, "FILTER_PORT": 10026, "REINJECT_PORT": 10027, "AUTH_POLICY_PORT": 10028,
    # The address book on loopback (a reverse proxy publishes it): not Radicale's usual 5232,
    # which the radicale package's own service takes if it is left enabled.
    "CARDDAV_PORT": 15232,
}
DATA_DIR = Path("/var/lib/mailroom")


def system_config(cfg: dict, prefix: Path, cert: Path, key: Path) -> dict:
    """CFG with the system install's ports, folders (under PREFIX) and certificate.

    The app reaches Dovecot and Postfix on loopback; submission still wants TLS, so
    the app names the mail host and trusts the system's CAs (a Let's Encrypt
    certificate, see README).
    """
    data = under_root(prefix, DATA_DIR)
    return {**cfg, **SYSTEM_PORTS, "STACK": "system", "LISTEN_ADDRESS": "127.0.0.1",
            "DATA_DIR": str(data), "STACK_DIR": str(data),
            "DATABASE_URL": f"sqlite:///{data / 'db' / 'mailroom.db'}",
            "IMAP_HOST": "127.0.0.1", "IMAP_TLS": "none", "SIEVE_HOST": "127.0.0.1",
            "CARDDAV_HOST": "127.0.0.1",
            "SUBMISSION_HOST": cfg["MAIL_HOSTNAME"], "SUBMISSION_TLS": "starttls",
            "TLS_CA_FILE": "system", "TLS_CERT_FILE": str(cert), "TLS_KEY_FILE": str(key),
            "CLAMD_SOCKET": CLAMD_SOCKET}

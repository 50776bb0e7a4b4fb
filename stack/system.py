"""A system install: Debian's own Postfix, Dovecot, Rspamd and Redis on the standard ports.

The same templates as the loopback stack, rendered for the system's paths (under a
PREFIX, "/" on the real machine; tests render into a temporary root), with TLS from
the admin's certificate, delivery to the internet, and the system's logs (syslog and
the journal). Mailroom's own processes become systemd units (stack/units.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .layout import Layout

# The standard ports (RFC 6409, 8314, 9051, 1939, 5804) and Rspamd's and Redis's own.
SYSTEM_PORTS = {
    "SMTP_PORT": 25, "SUBMISSION_PORT": 587, "SMTPS_PORT": 465, "IMAP_PORT": 143,
    "IMAPS_PORT": 993, "POP3_PORT": 110, "POP3S_PORT": 995, "SIEVE_PORT": 4190,
    "RSPAMD_PROXY_PORT": 11332, "RSPAMD_NORMAL_PORT": 11333, "RSPAMD_CONTROLLER_PORT": 11334,
    "REDIS_PORT": 6379, "FILTER_PORT": 10026, "REINJECT_PORT": 10027,
}
DATA_DIR = Path("/var/lib/mailroom")
ENV_FILE = Path("/etc/mailroom/mailroom.env")


def system_config(cfg: dict, prefix: Path = Path("/")) -> dict:
    """CFG with the system install's ports and folders (under PREFIX).

    The app reaches Dovecot and Postfix on loopback; submission still wants TLS, so
    the app names the mail host and trusts the system's CAs (a Let's Encrypt
    certificate, see README).
    """
    data = _under(prefix, DATA_DIR)
    return {**cfg, **SYSTEM_PORTS, "LISTEN_ADDRESS": "127.0.0.1", "DATA_DIR": str(data),
            "STACK_DIR": str(data), "DATABASE_URL": f"sqlite:///{data / 'db' / 'mailroom.db'}",
            "IMAP_HOST": "127.0.0.1", "IMAP_TLS": "none", "SIEVE_HOST": "127.0.0.1",
            "SUBMISSION_HOST": cfg["MAIL_HOSTNAME"], "SUBMISSION_TLS": "starttls",
            "TLS_CA_FILE": "system"}


def _under(prefix: Path, path: Path) -> Path:
    return prefix / path.relative_to("/")


@dataclass(frozen=True)
class SystemLayout(Layout):
    """Where a system install keeps everything: Debian's folders, under PREFIX."""

    prefix: Path = Path("/")
    settings: dict = field(default_factory=dict, compare=False)
    cert_file: Path = Path("/etc/ssl/certs/ssl-cert-snakeoil.pem")
    key_file: Path = Path("/etc/ssl/private/ssl-cert-snakeoil.key")
    resolvers: tuple[str, ...] = field(default=("127.0.0.1:53",))

    @classmethod
    def for_install(cls, cfg: dict, prefix: Path, cert: Path, key: Path) -> "SystemLayout":
        """The layout of CFG (a system_config) under PREFIX with the admin's certificate."""
        data = Path(cfg["DATA_DIR"])
        return cls(root=data, data_dir=data, database=Path(cfg["DATABASE_URL"].removeprefix("sqlite:///")),
                   prefix=prefix, settings=cfg, cert_file=cert, key_file=key,
                   resolvers=read_resolvers())

    def _at(self, path: str) -> Path:
        return _under(self.prefix, Path(path))

    etc = property(lambda self: self._at("/etc/mailroom"))
    dovecot_etc = property(lambda self: self._at("/etc/dovecot"))
    postfix_etc = property(lambda self: self._at("/etc/postfix"))
    rspamd_etc = property(lambda self: self._at("/etc/rspamd"))
    redis_etc = property(lambda self: self._at("/etc/redis"))
    run = property(lambda self: self._at("/run/mailroom"))
    records = property(lambda self: self._at("/run/mailroom/records"))
    dovecot_run = property(lambda self: self._at("/run/dovecot"))
    rspamd_run = property(lambda self: self._at("/run/rspamd"))
    redis_run = property(lambda self: self._at("/run/redis"))
    lib = property(lambda self: self.root / "lib")
    log = property(lambda self: self._at("/var/log/mailroom"))
    mail = property(lambda self: self._at("/var/vmail"))
    sieve = property(lambda self: self.root / "sieve")
    queue = property(lambda self: self._at("/var/spool/postfix"))
    cert = property(lambda self: self.cert_file)
    key = property(lambda self: self.key_file)
    units = property(lambda self: self._at("/etc/systemd/system"))
    env_file = property(lambda self: _under(self.prefix, ENV_FILE))

    @property
    def instance_name(self) -> str:
        """Dovecot's default instance: doveadm finds it without -c."""
        return "dovecot"

    def site_values(self, cfg: dict) -> dict:
        """Every service on every address, mail to the internet, logs to syslog."""
        return {
            "public": "0.0.0.0", "inet_interfaces": "all", "default_transport": "smtp",
            "smtp_dns": "enabled", "dns_server": self.resolvers[0],
            "postfix_log": "", "dovecot_log": "syslog",
            "redis_log": self._at("/var/log/redis/redis-server.log"),
            "redis_pidfile": self._at("/run/redis/redis-server.pid"),
            "redis_dir": self._at("/var/lib/redis"),
        }


def read_resolvers(path: Path = Path("/etc/resolv.conf")) -> tuple[str, ...]:
    """The system's name servers as host:port, for Rspamd (which does not read resolv.conf)."""
    found = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "nameserver":
                host = parts[1]
                found.append(f"[{host}]:53" if ":" in host else f"{host}:53")
    except OSError:
        pass
    return tuple(found) or ("127.0.0.1:53",)

"""Where the local stack keeps its files, and which port belongs to which service."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from core.config import ENV_FILE, SAFE_PATH, private_database

from .errors import StackError

# Rspamd's resolver is pointed here on the loopback stack; nothing listens, so lookups
# fail at once.
CLOSED_DNS = "127.0.0.1:1"
# Debian's clamav-daemon: its program, and the socket Rspamd's antivirus module talks to.
CLAMD, CLAMD_SOCKET = "/usr/sbin/clamd", "/run/clamav/clamd.ctl"
# sockaddr_un.sun_path holds 108 bytes; Dovecot adds names of up to ~25 characters.
MAX_SOCKET_DIR = 80

# service name -> (config key, daemon): what `status` reports, in order.
SERVICES = {
    "imap": ("IMAP_PORT", "dovecot"),
    "imaps": ("IMAPS_PORT", "dovecot"),
    "pop3": ("POP3_PORT", "dovecot"),
    "pop3s": ("POP3S_PORT", "dovecot"),
    "managesieve": ("SIEVE_PORT", "dovecot"),
    "smtp": ("SMTP_PORT", "postfix"),
    "submission": ("SUBMISSION_PORT", "postfix"),
    "submissions": ("SMTPS_PORT", "postfix"),
    "rspamd": ("RSPAMD_CONTROLLER_PORT", "rspamd"),
    "redis": ("REDIS_PORT", "redis"),
    "disclaimer": ("FILTER_PORT", "disclaimer"),
    "clamd": ("CLAMD_PORT", "clamd"),
    "carddav": ("CARDDAV_PORT", "carddav"),
}
# Ports a daemon needs besides those in SERVICES.
EXTRA_PORTS = {"rspamd": ("RSPAMD_PROXY_PORT", "RSPAMD_NORMAL_PORT"), "postfix": ("REINJECT_PORT",),
               "worker": ("AUTH_POLICY_PORT",)}
# Where the web app connects to Dovecot from: trusted to name its client's address (IMAP ID
# x-originating-ip, login_trusted_networks) and exempt from the worker's login limit.
APP_ADDRESS = "127.0.0.1"
APP_NETWORKS = f"{APP_ADDRESS}/32"
# Start order: Postfix needs Dovecot's sockets, the Rspamd milter and the disclaimer
# filter (its content_filter); Rspamd uses Redis and clamd. The job worker holds the database's
# WAL index open for the daemons that read it (stack/worker.py), so it comes first.
# Radicale (carddav) checks logins with Dovecot.
DAEMONS = ("worker", "redis", "clamd", "rspamd", "learnd", "dovecot", "carddav", "disclaimer", "postfix")


def _safe_path(value: str, what: str) -> Path:
    """VALUE as an absolute path with no characters a config syntax would interpret."""
    if not SAFE_PATH.match(value):
        raise StackError(
            f"{what} must be an absolute path of letters, digits and . _ / + @ - only: {value!r}"
        )
    return Path(value)


def database_path(url: str) -> Path:
    """The SQLite file of a sqlite:/// DATABASE_URL (the local stack also reads PostgreSQL:
    Layout.from_config; a system install only this)."""
    if not url.startswith("sqlite:///"):
        raise StackError(
            "a system install reads an SQLite database: set MAILROOM_DATABASE_URL to sqlite:////path"
        )
    return _safe_path(url.removeprefix("sqlite:///"), "the SQLite path in MAILROOM_DATABASE_URL")


@dataclass(frozen=True)
class Layout:
    """Every path under STACK_DIR that the stack renders, runs or logs in."""

    root: Path
    data_dir: Path
    database: Path | None  # the SQLite file; None when the directory is in PostgreSQL
    database_url: str = ""  # the app's DATABASE_URL (default: the SQLite file's)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL the stack's own processes open the directory with."""
        return self.database_url or f"sqlite:///{self.database}"

    @classmethod
    def from_config(cls, cfg: dict) -> "Layout":
        """Build the layout from a load_config() dict, checking the paths are usable.

        MAILROOM_STACK=system gives the system install's layout instead.
        """
        if cfg.get("STACK") == "system":
            return SystemLayout.for_install(cfg, Path("/"), Path(str(cfg["TLS_CERT_FILE"])),
                                            Path(str(cfg["TLS_KEY_FILE"])))
        root = _safe_path(str(cfg["STACK_DIR"]), "MAILROOM_STACK_DIR")
        url = str(cfg["DATABASE_URL"])
        layout = cls(
            root=root,
            data_dir=_safe_path(str(cfg["DATA_DIR"]), "MAILROOM_DATA_DIR"),
            database=None if url.startswith("postgresql") else database_path(url),
            database_url=url,
        )
        if len(str(layout.dovecot_run)) > MAX_SOCKET_DIR:
            raise StackError(
                f"MAILROOM_STACK_DIR is too long for Unix socket paths ({layout.dovecot_run}); "
                f"use a directory whose path is under {MAX_SOCKET_DIR - 12} characters"
            )
        return layout

    private_database = property(lambda self: self.database and private_database(self.database))
    etc = property(lambda self: self.root / "etc")
    dovecot_etc = property(lambda self: self.etc / "dovecot")
    postfix_etc = property(lambda self: self.etc / "postfix")
    rspamd_etc = property(lambda self: self.etc / "rspamd")
    redis_etc = property(lambda self: self.etc / "redis")
    clamav_etc = property(lambda self: self.etc / "clamav")
    run = property(lambda self: self.root / "run")
    records = property(lambda self: self.run / "mailroom")
    dovecot_run = property(lambda self: self.run / "dovecot")
    rspamd_run = property(lambda self: self.run / "rspamd")
    redis_run = property(lambda self: self.run / "redis")
    clamd_run = property(lambda self: self.run / "clamav")
    lib = property(lambda self: self.root / "lib")
    # clamd's DatabaseDirectory: the shipped test signature, or freshclam's downloads.
    clamav_db = property(lambda self: self.lib / "clamav")
    log = property(lambda self: self.root / "log")
    mail = property(lambda self: self.root / "mail")
    sieve = property(lambda self: self.root / "sieve")
    tls = property(lambda self: self.root / "tls")
    queue = property(lambda self: self.root / "spool" / "postfix")
    secrets = property(lambda self: self.data_dir / "secrets")
    cert = property(lambda self: self.tls / "cert.pem")
    key = property(lambda self: self.tls / "key.pem")
    dovecot_conf = property(lambda self: self.dovecot_etc / "dovecot.conf")
    lmtp_socket = property(lambda self: self.dovecot_run / "lmtp")
    auth_socket = property(lambda self: self.dovecot_run / "auth-postfix")

    def site_values(self, cfg: dict) -> dict:
        """Template values that differ between this loopback stack and a system install.

        Here: every service on LISTEN_ADDRESS, no mail to the internet and no DNS (so
        tests never reach out), each daemon logging to its own file under log/.
        """
        listen = cfg["LISTEN_ADDRESS"]
        return {
            "public": listen, "inet_interfaces": listen,
            "default_transport": "error:this server does not send mail to the internet",
            "smtp_dns": "disabled", "dns_server": CLOSED_DNS,
            "postfix_log": self.log_file("postfix"), "dovecot_log": self.log_file("dovecot"),
            "redis_log": self.log_file("redis"),
        }

    def log_file(self, daemon: str) -> Path:
        """The log file a daemon (and its start command's output) writes to."""
        return self.log / f"{daemon}.log"

    def record(self, daemon: str) -> Path:
        """Our own pid record for a daemon we started (pid and start time)."""
        return self.records / f"{daemon}.pid"

    @property
    def instance_name(self) -> str:
        """A Dovecot instance name unique to this STACK_DIR (shown in process titles)."""
        return "mailroom-" + hashlib.sha256(str(self.root).encode()).hexdigest()[:8]


@dataclass(frozen=True)
class SystemLayout(Layout):
    """Where a system install keeps everything: Debian's folders, under PREFIX."""

    prefix: Path = Path("/")
    settings: dict = field(default_factory=dict, compare=False)
    cert_file: Path = Path("/etc/ssl/certs/ssl-cert-snakeoil.pem")
    key_file: Path = Path("/etc/ssl/private/ssl-cert-snakeoil.key")

    @classmethod
    def for_install(cls, cfg: dict, prefix: Path, cert: Path, key: Path) -> "SystemLayout":
        """The layout of CFG (a system_config) under PREFIX with the admin's certificate."""
        data = Path(cfg["DATA_DIR"])
        return cls(root=data, data_dir=data, database=database_path(str(cfg["DATABASE_URL"])),
                   prefix=prefix, settings=cfg, cert_file=cert, key_file=key)

    def _at(self, path: str) -> Path:
        return under_root(self.prefix, Path(path))

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
    env_file = property(lambda self: under_root(self.prefix, ENV_FILE))

    @property
    def instance_name(self) -> str:
        """Dovecot's default instance: doveadm finds it without -c."""
        return "dovecot"

    def site_values(self, cfg: dict) -> dict:
        """Every service on every address, mail to the internet, logs to syslog."""
        return {
            "public": "0.0.0.0", "inet_interfaces": "all", "default_transport": "smtp",
            "smtp_dns": "enabled", "dns_server": read_resolvers()[0],
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


def under_root(prefix: Path, path: Path) -> Path:
    """PATH (absolute) inside the root PREFIX."""
    return prefix / path.relative_to("/")


def daemon_ports(cfg: dict, daemon: str) -> list[tuple[str, int]]:
    """The (config key, port) pairs a daemon listens on."""
    keys = [key for key, owner in SERVICES.values() if owner == daemon]
    keys += list(EXTRA_PORTS.get(daemon, ()))
    return [(key, int(cfg[key])) for key in keys]

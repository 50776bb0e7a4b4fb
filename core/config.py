"""Configuration: defaults, then MAILROOM_* environment variables, then *_FILE secrets.

Every key documented here is also listed in the README's table. Values from the
environment are converted to the type of their default.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "MAILROOM_"
# Paths are written into four config syntaxes and a few socket addresses; keeping them
# to these characters means no syntax ever needs to interpret them.
SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+@-]*$")
# Where the data goes when the checkout's own var/ would not do (see default_data_dir).
SYSTEM_DATA = Path("/var/lib/mailroom")


def instance_name(root: Path) -> str:
    """A short name for one checkout, e.g. 'project-3f2a9c1b' for /root/my project."""
    slug = re.sub(r"[^a-z0-9]+", "-", root.name.lower()).strip("-") or "mailroom"
    return f"{slug[:40]}-{hashlib.sha256(str(root).encode()).hexdigest()[:8]}"


def default_data_dir(root: Path = ROOT) -> Path:
    """ROOT/var when the mail daemons can use it, else /var/lib/mailroom/<instance>.

    The daemons run as their own users: every folder above the data must be
    traversable by anyone (a clone in /root, mode 0700, is not), and its path must
    be one their config files can hold (no spaces or quotes). The answer depends only
    on the checkout, so root, the web app's user and the CLI agree on it.
    """
    local = root / "var"
    reachable = all(stat.S_IMODE(p.stat().st_mode) & 0o001 for p in (root, *root.parents))
    return local if reachable and SAFE_PATH.match(str(local)) else SYSTEM_DATA / instance_name(root)

# key -> (default, help). A default of None with an int-typed key is listed in INT_KEYS.
DEFAULTS: dict[str, object] = {
    "ENV": "production",  # production | development | testing
    "STACK": "local",  # local: the loopback stack `stack up` runs | system: `stack install --system`
    "DATA_DIR": "",  # default: ROOT/var, or /var/lib/mailroom/<instance> (default_data_dir)
    "STACK_DIR": "",  # default: DATA_DIR/stack
    "DATABASE_URL": "",  # default: sqlite:///DATA_DIR/db/mailroom.db, or the local PostgreSQL's
    # sqlite | postgresql: with postgresql and no DATABASE_URL, `stack up` runs a PostgreSQL
    # of its own (stack/postgres.py) and the app uses it.
    "DATABASE": "sqlite",
    "DB_BUSY_TIMEOUT": 15,  # seconds a change waits for another SQLite writer before giving up
    "SECRET_KEY": "",  # or SECRET_KEY_FILE; default file DATA_DIR/secrets/secret_key
    "HOST": "127.0.0.1",
    "PORT": 8000,
    "THREADS": 8,
    "MAIL_HOSTNAME": "mail.example.test",
    "LISTEN_ADDRESS": "127.0.0.1",
    "IMAP_HOST": "127.0.0.1",
    "IMAP_PORT": 10143,
    "IMAP_TLS": "none",  # none | starttls | ssl
    "IMAPS_PORT": 10993,  # IMAP with TLS from the first byte (local stack)
    "POP3_PORT": 10110,
    "POP3S_PORT": 10995,
    "SIEVE_HOST": "127.0.0.1",
    "SIEVE_PORT": 14190,
    "SMTP_PORT": 10025,
    "SUBMISSION_HOST": "127.0.0.1",
    "SUBMISSION_PORT": 10587,
    "SUBMISSION_TLS": "starttls",  # none | starttls | ssl
    "SMTPS_PORT": 10465,  # submissions: SMTP with TLS from the first byte (local stack)
    "TLS_CA_FILE": "",  # default: the local stack's certificate
    "TLS_CERT_FILE": "",  # the system install's certificate chain and key; the local
    "TLS_KEY_FILE": "",  # stack makes its own
    "RSPAMD_HOST": "127.0.0.1",
    "RSPAMD_PROXY_PORT": 11632,
    "RSPAMD_NORMAL_PORT": 11633,
    "RSPAMD_CONTROLLER_PORT": 11634,
    "RSPAMD_PASSWORD": "",  # or RSPAMD_PASSWORD_FILE; default file DATA_DIR/secrets/rspamd_password
    "REDIS_HOST": "127.0.0.1",  # Rspamd's Redis: Bayes learn counters are read there
    "REDIS_PORT": 16379,
    "REDIS_PASSWORD": "",  # or REDIS_PASSWORD_FILE; default file DATA_DIR/secrets/redis_password
    # Sent to Dovecot to check the main password of a person with two-factor sign-in (or
    # WEB_AUTH_KEY_FILE; default file DATA_DIR/secrets/web_auth_key, made by `stack up`).
    "WEB_AUTH_KEY": "",
    # Signs the webmail's short-lived CardDAV logins, checked by Radicale's auth plugin (or
    # CARDDAV_KEY_FILE; default file DATA_DIR/secrets/carddav_key): a key of its own, so
    # Radicale never holds the one that lets the web app past two-factor sign-in.
    "CARDDAV_KEY": "",
    "REDIS_URL": "",  # what app processes share (core/shared.py); default: the stack's Redis, database 1
    "FILTER_PORT": 10026,  # the disclaimer filter (stack/filter), after Postfix's queue
    "REINJECT_PORT": 10027,  # Postfix takes filtered mail back here
    "AUTH_POLICY_PORT": 10028,  # the worker's auth policy server, asked by Dovecot before each login
    "POSTGRES_PORT": 15432,  # the local stack's PostgreSQL (MAILROOM_DATABASE=postgresql)
    "CLAMD_PORT": 13310,  # ClamAV's clamd (local stack), asked by Rspamd's antivirus module
    "CLAMD_SOCKET": "",  # clamd's Unix socket instead (a system install: Debian's clamav-daemon)
    # The address book server (Radicale, local stack) the webmail and phones keep contacts in.
    "CARDDAV_HOST": "127.0.0.1",
    "CARDDAV_PORT": 15232,
    "CARDDAV_URL": "",  # what mail apps are told (Settings -> Mail apps); default http://HOST:PORT/
    "DEFAULT_QUOTA_MB": 1024,
    "MESSAGE_SIZE_LIMIT_MB": 25,
    "UPLOAD_QUOTA_MB": 100,  # attachments one person may have waiting in open messages
    "UNDO_SEND_SECONDS": 10,  # Send waits this long for Undo, then the worker sends; 0: at once
    "PAGE_SIZE": 50,  # messages per page of the list
    # New-mail streams (webmail/events.py) each hold a waitress thread and an IMAP connection;
    # waitress gets NOTIFY_STREAMS threads on top of THREADS, so pages keep THREADS of their own.
    "NOTIFY_STREAM_SECONDS": 300,  # a stream ends after this; the browser opens the next one
    "NOTIFY_HEARTBEAT_SECONDS": 15,  # a quiet stream writes a comment this often
    "NOTIFY_STREAMS": 16,  # streams per process at once (beyond it: retried a minute later)
    "NOTIFY_STREAMS_PER_PERSON": 2,
    "CACHE_MB": 64,  # all in-memory caches of one web process together (core/cache.py)
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,  # a session ends this long after sign-in, however active
    "LOGIN_LIMIT_ADDRESS": "5 per minute",
    "LOGIN_LIMIT_IP": "20 per minute",  # also Dovecot's logins, through the worker's auth policy
    "SIGNIN_CONCURRENCY": 4,  # web sign-ins checked with the IMAP server at once
    "SIGNIN_TIMEOUT": 4,  # seconds a web sign-in waits for IMAP LOGIN
    "MAIL_TIMEOUT": 10,
    "COOKIE_SECURE": False,  # always Secure; it is anyway for requests that came over HTTPS
    "PROXY_FIX": 0,  # reverse proxies in front: X-Forwarded-* hops to believe
    "TRUSTED_PROXIES": "127.0.0.1,::1",  # peers whose X-Forwarded-* count (PROXY_FIX > 0)
    "HSTS_SECONDS": 0,  # Strict-Transport-Security max-age on HTTPS responses; 0: none
    "LOG_ROTATE_MB": 50,  # the local stack's logs are rotated above this size
    "LOG_KEEP": 5,  # gzipped generations kept of each rotated log
    # Where users come from: database (Mailroom's own mailboxes only) | ldap (a directory's
    # users beside the database's mailboxes; core/ldapdir). LDAP_URL "local": the stack's
    # own slapd on LDAP_PORT with a seeded tree (stack/slapd.py), for tests and the demo.
    "ACCOUNT_PROVIDER": "database",
    "LDAP_URL": "",  # ldap://HOST (with STARTTLS unless LDAP_TLS=none), ldaps://HOST, or local
    "LDAP_TLS": "starttls",  # starttls | none: for ldap:// URLs (ldaps:// is TLS anyway)
    "LDAP_PORT": 13890,  # the local slapd (LDAP_URL=local)
    "LDAP_BIND_DN": "",  # the read-only account the daemons and the app search with
    "LDAP_BIND_PASSWORD": "",  # or LDAP_BIND_PASSWORD_FILE
    "LDAP_USER_BASE": "",
    "LDAP_GROUP_BASE": "",
    "LDAP_SCHEMA": "openldap",  # openldap | samba-ad | ad: the preset filters and attributes
    # Seconds between two reads of the directory's groups for Dovecot (shared mailboxes a
    # directory group owns) and Junk training: how soon a membership change counts.
    "LDAP_GROUPS_REFRESH": 30,
    # Overrides of the preset (empty: the preset's); filters are RFC 4515, the alias filter
    # names the address as {address}.
    "LDAP_USER_FILTER": "",
    "LDAP_DISABLED_FILTER": "",
    "LDAP_ALIAS_FILTER": "",
    "LDAP_GROUP_FILTER": "",
    "LDAP_MAIL_ATTR": "",
    "LDAP_ID_ATTR": "",
    "LDAP_NAME_ATTR": "",
    "LDAP_MEMBER_ATTR": "",
}

SECRET_KEYS = ("SECRET_KEY", "RSPAMD_PASSWORD", "REDIS_PASSWORD", "LDAP_BIND_PASSWORD",
               "WEB_AUTH_KEY", "CARDDAV_KEY")
# Written by `stack install --system`: the settings of the installed services, read by
# the CLI and the units alike (the process environment still wins).
ENV_FILE = Path("/etc/mailroom/mailroom.env")
# Every port of the mail stack (not the web app's own PORT): tests and benchmarks move
# them all to free ports.
STACK_PORT_KEYS = tuple(key for key in DEFAULTS if key.endswith("_PORT"))
MIN_SECRET_LENGTH = 32
WEAK_SECRETS = {"changeme", "secret", "dev", "development", "mailroom"}


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


def _convert(raw: str, default: object) -> object:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"expected a whole number, got {raw!r}") from exc
    return raw


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an environment file (systemd's EnvironmentFile); {} if absent."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _read_secret_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def load_config(overrides: dict | None = None, environ: dict | None = None) -> dict:
    """Return the settings as a dict of upper-case keys (without the MAILROOM_ prefix).

    >>> load_config({"PORT": 9000})["PORT"]
    9000
    """
    env = {**read_env_file(ENV_FILE), **os.environ} if environ is None else environ
    cfg: dict[str, object] = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        if PREFIX + key in env:
            try:
                cfg[key] = _convert(env[PREFIX + key], default)
            except ConfigError as exc:
                raise ConfigError(f"{PREFIX}{key}: {exc}") from exc
    cfg.update(overrides or {})
    _derive_paths(cfg)
    for key in SECRET_KEYS:
        file_var = env.get(f"{PREFIX}{key}_FILE") or (overrides or {}).get(f"{key}_FILE")
        if not cfg[key]:
            path = file_var or str(Path(cfg["DATA_DIR"]) / "secrets" / key.lower())
            cfg[key] = _read_secret_file(path)
    return cfg


def _derive_paths(cfg: dict) -> None:
    if not cfg["DATA_DIR"]:
        cfg["DATA_DIR"] = str(default_data_dir())
    data = Path(cfg["DATA_DIR"])
    if not cfg["STACK_DIR"]:
        cfg["STACK_DIR"] = str(data / "stack")
    if cfg["DATABASE"] not in ("sqlite", "postgresql"):
        raise ConfigError(f"{PREFIX}DATABASE must be sqlite or postgresql, not {cfg['DATABASE']!r}")
    if not cfg["DATABASE_URL"]:
        cfg["DATABASE_URL"] = (local_postgres_url(cfg) if cfg["DATABASE"] == "postgresql"
                               else f"sqlite:///{data / 'db' / 'mailroom.db'}")
    if not cfg["TLS_CA_FILE"]:
        cfg["TLS_CA_FILE"] = str(Path(cfg["STACK_DIR"]) / "tls" / "cert.pem")
    if cfg["ACCOUNT_PROVIDER"] not in ("database", "ldap"):
        raise ConfigError(f"{PREFIX}ACCOUNT_PROVIDER must be database or ldap, "
                          f"not {cfg['ACCOUNT_PROVIDER']!r}")
    if cfg["LDAP_URL"] == "local":
        _derive_local_ldap(cfg)


# The local slapd's tree (stack/slapd.py): its suffix and the read-only account the
# daemons and the app bind as; its password is generated by `stack up`.
LOCAL_LDAP_SUFFIX = "dc=mailroom,dc=test"
LOCAL_LDAP_BIND_DN = f"cn=mailroom,ou=services,{LOCAL_LDAP_SUFFIX}"
LOCAL_LDAP_SECRET = "ldap_bind_password"


def _derive_local_ldap(cfg: dict) -> None:
    """LDAP_URL=local: the stack's own slapd on LDAP_PORT, its tree and account."""
    cfg.update(LDAP_TLS="none", LDAP_SCHEMA="openldap", LDAP_BIND_DN=LOCAL_LDAP_BIND_DN,
               LDAP_USER_BASE=f"ou=people,{LOCAL_LDAP_SUFFIX}",
               LDAP_GROUP_BASE=f"ou=groups,{LOCAL_LDAP_SUFFIX}")


def local_ldap(cfg: dict) -> bool:
    """Whether the stack runs the directory itself (MAILROOM_LDAP_URL=local)."""
    return cfg.get("LDAP_URL") == "local"


def ldap_bind_password(cfg: dict) -> str:
    """MAILROOM_LDAP_BIND_PASSWORD, else its default file (re-read: `stack up` makes the
    local directory's after the configuration was loaded); '' when there is none."""
    return str(cfg.get("LDAP_BIND_PASSWORD") or "") or _read_secret_file(
        str(Path(cfg["DATA_DIR"]) / "secrets" / LOCAL_LDAP_SECRET))


def uses_ldap(cfg: dict) -> bool:
    """Whether directory users come from LDAP (MAILROOM_ACCOUNT_PROVIDER=ldap)."""
    return cfg.get("ACCOUNT_PROVIDER") == "ldap"


def ldap_url(cfg: dict) -> str:
    """The directory's URL: MAILROOM_LDAP_URL, or the local slapd's."""
    if local_ldap(cfg):
        return f"ldap://{cfg['LISTEN_ADDRESS']}:{cfg['LDAP_PORT']}"
    return str(cfg["LDAP_URL"])


PRIVATE_DATABASE_MODE = 0o600
# The local stack's PostgreSQL: the app's role and database, and its password's file.
LOCAL_POSTGRES_ROLE = LOCAL_POSTGRES_DATABASE = "mailroom"
LOCAL_POSTGRES_SECRET = "postgres_password"


def local_postgres_url(cfg: dict) -> str:
    """The URL of the local stack's PostgreSQL; its password is generated by `stack up`
    (before that the URL has none and cannot sign in)."""
    password = _read_secret_file(str(Path(cfg["DATA_DIR"]) / "secrets" / LOCAL_POSTGRES_SECRET))
    return (f"postgresql+psycopg://{LOCAL_POSTGRES_ROLE}:{password}@{cfg['LISTEN_ADDRESS']}:"
            f"{cfg['POSTGRES_PORT']}/{LOCAL_POSTGRES_DATABASE}")


def private_database(database: Path) -> Path:
    """The SQLite file beside DATABASE that holds the secrets the daemons' lookups must
    not read: password hashes and sealed credentials (see core/db.py).

    >>> private_database(Path("/srv/db/mailroom.db"))
    PosixPath('/srv/db/mailroom-private.db')
    """
    return database.with_name(f"{database.stem}-private{database.suffix}")


def check_secret_key(cfg: dict) -> None:
    """Refuse to run in production with a missing or weak SECRET_KEY."""
    key = str(cfg.get("SECRET_KEY") or "")
    if cfg.get("ENV") != "production":
        return
    if len(key) < MIN_SECRET_LENGTH or key.lower() in WEAK_SECRETS or len(set(key)) < 8:
        raise ConfigError(
            "MAILROOM_SECRET_KEY (or MAILROOM_SECRET_KEY_FILE) is missing or weak: "
            f"set a random value of at least {MIN_SECRET_LENGTH} characters, "
            "or run `flask --app app stack up`, which generates one for the local stack."
        )

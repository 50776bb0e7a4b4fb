"""A local PostgreSQL cluster in a directory: initdb, start, stop, a database for the app.

Debian's postgresql 15 without its cluster manager or systemd: `initdb` and `pg_ctl`
run as the `postgres` user (PostgreSQL refuses to run as root). The server listens on
one loopback port; its Unix socket sits in a 0700 directory of `postgres`, where only
root and `postgres` reach it, so local connections are trusted and serve the stack's
own set-up (roles, grants) as the superuser. Every TCP login needs a password
(SCRAM-SHA-256).
"""
from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.config import LOCAL_POSTGRES_DATABASE, LOCAL_POSTGRES_ROLE, local_postgres_url

from . import perms
from .errors import StackError
from .layout import Layout
from .quoting import quote

log = logging.getLogger(__name__)
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"  # the Debian user the server runs as, and its superuser role
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
START_TIMEOUT = 60


@dataclass(frozen=True)
class Cluster:
    """One PostgreSQL cluster: its folder under the stack and its loopback port."""

    root: Path
    port: int
    host: str = "127.0.0.1"

    data = property(lambda self: self.root / "data")
    socket_dir = property(lambda self: self.root / "run")
    log_file = property(lambda self: self.root / "postgresql.log")
    settings_file = property(lambda self: self.data / "mailroom.conf")

    def superuser_url(self, database: str = "postgres") -> str:
        """A URL for the superuser over the Unix socket (root or postgres only)."""
        return (f"postgresql+psycopg://{SUPERUSER}@/{database}"
                f"?host={self.socket_dir}&port={self.port}")


def _as_postgres(argv: list[str], what: str, timeout: float = START_TIMEOUT) -> None:
    """Run ARGV as the postgres user; a failure becomes a StackError with its output."""
    try:
        done = subprocess.run(argv, user=SUPERUSER, group=SUPERUSER, extra_groups=[], cwd="/",
                              env=ENV, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"PostgreSQL {what}: {exc}") from exc
    if done.returncode:
        raise StackError(f"PostgreSQL {what} failed: {(done.stdout + done.stderr).strip()[-2000:]}")


def init(cluster: Cluster) -> bool:
    """Create the cluster's files unless they exist; True if it was created now."""
    if (cluster.data / "PG_VERSION").exists():
        return False
    for path in (cluster.root, cluster.data, cluster.socket_dir):
        perms.ensure_dir(path, 0o700, SUPERUSER)
    _as_postgres([str(PG_BIN / "initdb"), "-D", str(cluster.data), "-U", SUPERUSER, "-E", "UTF8",
                  "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256"], "initdb")
    with open(cluster.data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(f"\n# Mailroom's settings (stack/postgres.py)\ninclude = {quote(cluster.settings_file.name, 'sql')}\n")
    log.info("PostgreSQL cluster created in %s", cluster.data)
    return True


def write_settings(cluster: Cluster) -> None:
    """The settings that follow the stack's configuration: the port, where it listens."""
    settings = {
        "listen_addresses": quote(cluster.host, "sql"),
        "port": quote(cluster.port, "int"),
        "unix_socket_directories": quote(str(cluster.socket_dir), "sql"),
        "unix_socket_permissions": "0700",
        "password_encryption": quote("scram-sha-256", "sql"),
    }
    cluster.settings_file.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()),
                                     encoding="utf-8")
    perms.set_owner(cluster.settings_file, 0o600, SUPERUSER)


def start(cluster: Cluster) -> None:
    """Start the cluster's server and wait until it accepts connections."""
    write_settings(cluster)
    _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(cluster.data), "-l", str(cluster.log_file),
                  "-w", "-t", str(START_TIMEOUT), "start"], "start")


def running(cluster: Cluster) -> bool:
    """Whether the cluster's server runs (pg_ctl status: 0 runs, 3 does not)."""
    if not (cluster.data / "PG_VERSION").exists():
        return False
    done = subprocess.run([str(PG_BIN / "pg_ctl"), "-D", str(cluster.data), "status"], user=SUPERUSER,
                          group=SUPERUSER, extra_groups=[], cwd="/", env=ENV, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=30, check=False)
    return done.returncode == 0


def pid(cluster: Cluster) -> int | None:
    """The server's pid from its postmaster.pid (first line), None when it does not run."""
    try:
        first = (cluster.data / "postmaster.pid").read_text(encoding="ascii").split("\n", 1)[0]
    except (OSError, UnicodeError):
        return None
    return int(first) if first.isdigit() else None


def stop(cluster: Cluster) -> None:
    """Stop the cluster's server if it runs (fast: open sessions are ended)."""
    if not (cluster.data / "postmaster.pid").exists():
        return
    _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(cluster.data), "-m", "fast", "-w", "stop"], "stop")


def is_local(cfg: dict) -> bool:
    """Whether the stack runs the app's PostgreSQL itself (MAILROOM_DATABASE=postgresql and
    no MAILROOM_DATABASE_URL of another server)."""
    if cfg["DATABASE"] != "postgresql":
        return False
    from sqlalchemy.engine import make_url

    url, local = make_url(str(cfg["DATABASE_URL"])), make_url(local_postgres_url(cfg))
    return (url.host, url.port, url.database) == (local.host, local.port, local.database)


def local_cluster(cfg: dict, layout: Layout) -> Cluster:
    """The cluster the local stack runs, in STACK_DIR/lib/postgresql."""
    return Cluster(layout.lib / "postgresql", int(cfg["POSTGRES_PORT"]), str(cfg["LISTEN_ADDRESS"]))


def ensure_local(cfg: dict, layout: Layout, password: str) -> list[str]:
    """Create and start the local cluster as needed, with the app's role (PASSWORD) and
    database; return lines to show."""
    cluster = local_cluster(cfg, layout)
    lines = [f"postgresql: cluster created in {cluster.data}"] if init(cluster) else []
    if not running(cluster):
        start(cluster)
        lines.append(f"postgresql: started on {cluster.host}:{cluster.port}")
    _ensure_app_role(cluster, password)
    return lines


def _ensure_app_role(cluster: Cluster, password: str) -> None:
    """The app's role (it creates the daemons' roles: CREATEROLE) and its database."""
    from sqlalchemy import create_engine

    engine = create_engine(cluster.superuser_url(), isolation_level="AUTOCOMMIT")
    role, database = LOCAL_POSTGRES_ROLE, LOCAL_POSTGRES_DATABASE
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(
                f"DO $$ BEGIN CREATE ROLE {role} LOGIN CREATEROLE; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
            connection.exec_driver_sql(f"ALTER ROLE {role} PASSWORD {quote(password, 'sql')}")
            if not connection.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(name)s",
                                              {"name": database}).scalar():
                connection.exec_driver_sql(f"CREATE DATABASE {database} OWNER {role}")
    finally:
        engine.dispose()

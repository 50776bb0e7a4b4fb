"""Database engine and sessions, and schema upgrades through Alembic.

Two kinds of data, kept apart. The directory (domains, mailboxes, aliases, groups,
settings, ...) is what the mail daemons look up on every message: Postfix reads it as
its own user. The secrets — password hashes and the sealed mail credentials of web
sessions — are tables of the schema PRIVATE, which no Postfix lookup names. In SQLite
the unit of permission is the file, so there PRIVATE is a second file beside the
database (core.config.private_database), the web app's alone (0600) and attached to
each of its connections under that name; Dovecot's passdb, whose auth worker runs as
root, opens it directly. With PostgreSQL the same split is a schema "private" on which
the daemons' role has no USAGE (Dovecot's passdb role excepted): the daemons' queries
name the same tables on both.

A transaction that writes both files (adding or removing a mailbox) commits each file
atomically, not both at once (SQLite, WAL mode): a crash between the two can leave a
mailbox without a password (no sign-in until one is set) or a password without a
mailbox (Dovecot's userdb refuses that login; the address added again replaces it).
"""
from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.config import DEFAULTS, PRIVATE_DATABASE_MODE, private_database

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
PRIVATE = "private"
BUSY_TIMEOUT = DEFAULTS["DB_BUSY_TIMEOUT"]
VERSION_TABLE = "alembic_version"
CONNECT_TIMEOUT = 10  # seconds


def make_engine(url: str, private: bool = True, busy_timeout: float = BUSY_TIMEOUT) -> Engine:
    """Create an engine; SQLite gets foreign keys, a busy timeout and WAL mode.

    Postfix and Dovecot read the SQLite file live, and Postfix's sqlite dictionary has
    no busy handler: in the default rollback-journal mode a lookup that meets any
    commit fails, fatally for that Postfix process. In WAL mode readers never wait for
    a writer (nor a writer for readers); the stack lets the daemons' group use the WAL
    index and its worker keeps the database open (stack/worker.py).

    PRIVATE attaches the private database (see above); the stack's learnd and
    disclaimer filter, which read the directory only, go without it. A writer that finds
    another one busy retries for BUSY_TIMEOUT seconds, then fails (see is_busy).
    """
    kwargs: dict = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
    elif url.startswith("postgresql"):  # a wrong host fails now, not after TCP's minutes
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        if private:
            attach_private(engine, url)
    return engine


def is_busy(error: Exception) -> bool:
    """Whether ERROR is SQLite giving up on a lock another writer kept past the busy timeout."""
    code = getattr(getattr(error, "orig", None), "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # persistent in the file; a no-op once set
    cur.close()


def attach_private(engine: Engine, url: str) -> None:
    """Attach the private database of the SQLite URL to each new connection of ENGINE.

    The file is created 0600 before SQLite opens it (SQLite would use the umask), and
    runs in WAL mode too: Dovecot's passdb reads it while the app writes sessions.
    """
    path = private_database(Path(url.removeprefix("sqlite:///")))
    event.listen(engine, "connect", lambda dbapi_conn, _record: attach(dbapi_conn, path))


def attach(connection, path: Path) -> None:
    """Attach the private database PATH to the sqlite3 CONNECTION under the name PRIVATE."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_DATABASE_MODE))
    except FileExistsError:
        # Never open a file SQLite may hold already: closing any descriptor of it drops
        # every lock this process has on it (POSIX), and then whichever process closes
        # next thinks it is the last, checkpoints and deletes the WAL that this process's
        # connections go on writing into, unseen by anyone else.
        if path.is_symlink():
            raise
    connection.execute(f"ATTACH DATABASE ? AS {PRIVATE}", (str(path),))
    connection.execute(f"PRAGMA {PRIVATE}.journal_mode=WAL").fetchone()


class Database:
    """The app's database: one engine, one session factory (a Flask extension)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.factory: sessionmaker[Session] | None = None

    def init_app(self, app) -> None:
        """Bind to the app's DATABASE_URL and close the request session at teardown."""
        self.configure(app.config["DATABASE_URL"], busy_timeout=app.config["DB_BUSY_TIMEOUT"])
        app.extensions["mailroom_db"] = self
        app.teardown_appcontext(self._teardown)

    def configure(self, url: str, private: bool = True, busy_timeout: float = BUSY_TIMEOUT) -> None:
        """Point this database at URL (used by init_app and by scripts); see make_engine."""
        self.engine = make_engine(url, private, busy_timeout)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def session(self) -> Session:
        """The session of the current app context, opened on first use."""
        from flask import g

        if "db_session" not in g:
            g.db_session = self.factory()
        return g.db_session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session outside any request: commit on success, roll back on error."""
        with self.factory() as session, session.begin():
            yield session

    @staticmethod
    def _teardown(exc) -> None:
        from flask import g

        session = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


db = Database()


@contextmanager
def transaction_at(url: str) -> Iterator[Session]:
    """One transaction on an engine of its own, disposed afterwards.

    For scripts and daemons before they fork: no SQLite connection may cross the fork.
    """
    database = Database()
    database.configure(url)
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.engine.dispose()


def alembic_config(url: str):
    """An Alembic Config for our migrations folder and URL."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["configure_logger"] = False
    return cfg


class Unusable(Exception):
    """The database cannot be upgraded as it is (it does not answer, or newer code wrote
    it); nothing was changed."""


def shown(url: str) -> str:
    """URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def cannot_connect(url: str, exc: OperationalError) -> str:
    """The message for a database at URL that refused the connection (first line of why)."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return f"Cannot connect to {shown(url)}: {reason}"


def code_revisions(url: str) -> list[str]:
    """Every schema revision this code knows, oldest first (the last is the head)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def schema_revision(connection: Connection) -> str | None:
    """The schema revision Alembic recorded in the connection's database; None when none."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at URL up to REVISION, creating the SQLite file if needed; Unusable,
    with nothing changed, when the database does not answer or has a newer schema."""
    from alembic import command

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    _check_upgradable(url)
    command.upgrade(alembic_config(url), revision)
    if url.startswith("sqlite:///"):
        empty_wal(url)


def _check_upgradable(url: str) -> None:
    """Unusable unless the database at URL answers with a schema this code knows (or none)."""
    engine = make_engine(url, private=False)
    try:
        with engine.connect() as connection:
            found = schema_revision(connection)
    except OperationalError as exc:
        raise Unusable(f"{cannot_connect(url, exc)}. Nothing was changed.") from None
    finally:
        engine.dispose()
    if found is not None and found not in code_revisions(url):
        raise Unusable(f"The database at {shown(url)} has schema {found!r}, newer than this version "
                       "of Mailroom knows: run the version that wrote it. Nothing was changed.")


def empty_wal(url: str) -> None:
    """Copy the WAL of the SQLite database at URL into the file and truncate it.

    The daemons' group reads the WAL as well as the file: what a migration removed
    (0006: the secrets) must not stay there in the pages it replaced.
    """
    engine = make_engine(url, private=False)
    try:
        with engine.connect() as connection:
            busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
    finally:
        engine.dispose()
    if busy:
        log.warning("the WAL of %s could not be emptied: a reader or writer held it", url)

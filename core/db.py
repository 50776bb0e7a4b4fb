"""Database engine and sessions, and schema upgrades through Alembic."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, a busy timeout and WAL mode.

    Postfix and Dovecot read the SQLite file live, and Postfix's sqlite dictionary has
    no busy handler: in the default rollback-journal mode a lookup that meets any
    commit fails, fatally for that Postfix process. In WAL mode readers never wait for
    a writer (nor a writer for readers); the stack lets the daemons' group use the WAL
    index and its worker keeps the database open (stack/worker.py).
    """
    kwargs: dict = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 15, "check_same_thread": False}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # persistent in the file; a no-op once set
    cur.close()


class Database:
    """The app's database: one engine, one session factory (a Flask extension)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.factory: sessionmaker[Session] | None = None

    def init_app(self, app) -> None:
        """Bind to the app's DATABASE_URL and close the request session at teardown."""
        self.configure(app.config["DATABASE_URL"])
        app.extensions["mailroom_db"] = self
        app.teardown_appcontext(self._teardown)

    def configure(self, url: str) -> None:
        """Point this database at URL (used by init_app and by scripts)."""
        self.engine = make_engine(url)
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


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at URL up to REVISION, creating the SQLite file if needed."""
    from alembic import command

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)

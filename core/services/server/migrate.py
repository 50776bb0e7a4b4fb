"""`db migrate-to URL`: copy the SQLite directory into an empty PostgreSQL database.

Everything that can refuse is checked before anything is written: the target must
answer, hold no table (nor a schema revision this code does not know), and the source
must be at this code's schema. Then, in one PostgreSQL transaction, the migrations
create the schema, every table's rows are copied from one SQLite snapshot (a read
transaction: a WAL reader sees one moment), the id sequences are moved past the copied
ids, and each table's count is compared; any difference rolls all of it back.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Integer, MetaData, Table, func, inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from core.config import ENV_FILE, local_postgres_url
from core.db import (PRIVATE, VERSION_TABLE, alembic_config, cannot_connect, code_revisions, make_engine,
                     schema_revision, shown)
from core.i18n import lazy_gettext as _l
from core.services.errors import InvalidInput, ServiceError

log = logging.getLogger(__name__)
SCHEMAS = (None, PRIVATE)  # None: the default schema (public on PostgreSQL, main on SQLite)
LOCAL = "local"  # the target that names the local stack's own PostgreSQL


class Refused(ServiceError):
    """The migration did not start: nothing was written anywhere."""


@dataclass(frozen=True)
class Migrated:
    """What was copied, e.g. Migrated("0013", {"domains": 2, "private.credentials": 3}, 0.4)."""

    revision: str
    counts: dict[str, int]
    seconds: float


def target_url(url: str) -> str:
    """URL checked to name a PostgreSQL database through psycopg; else Refused."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise Refused(_l('%(url)s is not a database URL; write postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME', url=f"{url!r}")) from None
    if parsed.drivername != "postgresql+psycopg" or not parsed.database:
        raise Refused(_l('%(url)s is not a PostgreSQL URL: write postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME', url=shown(url)))
    return url


def local_target(cfg: dict) -> str:
    """The URL of the PostgreSQL the local stack runs with MAILROOM_DATABASE=postgresql,
    started now (as `stack up` would) with its role and database if needed."""
    import os

    from stack import postgres, secretfiles
    from stack.errors import StackError
    from stack.layout import Layout

    if os.geteuid() != 0:
        raise Refused(_l("The local PostgreSQL is started as root, as `flask --app app stack up` is."))
    local = {**cfg, "DATABASE": "postgresql"}
    try:
        layout = Layout.from_config(cfg)
        postgres.ensure_local(local, layout, secretfiles.local_postgres_password(layout))
    except StackError as exc:
        raise Refused(_l('The local PostgreSQL could not be started: %(exc)s', exc=exc)) from None
    return local_postgres_url(local)


def migrate_to(source: str, target: str) -> Migrated:
    """Copy the database at SOURCE (sqlite:///...) into the empty PostgreSQL at TARGET."""
    began = time.monotonic()
    if not source.startswith("sqlite:///"):
        raise InvalidInput(_l('MAILROOM_DATABASE_URL is %(source)s: only an SQLite database is migrated.', source=shown(source)))
    if not Path(source.removeprefix("sqlite:///")).is_file():  # opening it would create it
        raise Refused(_l('There is no SQLite database at %(sqlite)s to copy.', sqlite=source.removeprefix('sqlite:///')))
    target_engine = make_engine(target_url(target))
    source_engine = make_engine(source)
    try:
        with source_engine.connect() as src, _connect(target_engine, target) as dst:
            known = code_revisions(source)
            revision = _check_source(src, known)
            _check_target(dst, target, known)
            with dst.begin():
                counts = _copy(src, dst, source)
    finally:
        source_engine.dispose()
        target_engine.dispose()
    log.info("migrated %s to %s at schema %s: %s", source, shown(target), revision, counts)
    return Migrated(revision, counts, time.monotonic() - began)


def _connect(engine, url: str) -> Connection:
    try:
        return engine.connect()
    except OperationalError as exc:
        raise Refused(cannot_connect(url, exc)) from None


def _check_source(src: Connection, known: list[str]) -> str:
    """The source's schema revision, which must be KNOWN's newest (this code's)."""
    revision = schema_revision(src)
    if revision not in known:
        raise Refused(_l('The SQLite database has schema %(revision)s, which this version of Mailroom does not know (newer code wrote it): migrate it with that version.', revision=f"{revision!r}"))
    if revision != known[-1]:
        raise Refused(_l("The SQLite database has schema %(revision)s, older than this code's %(known)s: run `flask --app app db upgrade` first.", revision=revision, known=known[-1]))
    return revision


def _check_target(dst: Connection, url: str, known: list[str]) -> None:
    """Refuse a target with a schema revision of newer code, or with any table at all."""
    revision = schema_revision(dst)
    if revision is not None and revision not in known:
        raise Refused(_l('%(url)s has schema %(revision)s, newer than this version of Mailroom knows: nothing was copied.', url=shown(url), revision=f"{revision!r}"))
    inspector = inspect(dst)
    tables = [f"{schema}.{name}" if schema else name
              for schema in SCHEMAS if schema is None or schema in inspector.get_schema_names()
              for name in inspector.get_table_names(schema=schema)]
    if tables:
        raise Refused(_l('%(url)s is not empty (tables: %(tables)s%(value)s): migrate into a new, empty database.', url=shown(url), tables=', '.join(sorted(tables)[:5]), value=', ...' if len(tables) > 5 else ''))
    dst.rollback()  # the inspection's implicit transaction; the copy begins its own


def _copy(src: Connection, dst: Connection, source: str) -> dict[str, int]:
    """Create the schema on DST, copy every table of SRC, check counts; return them."""
    from alembic import command

    cfg = alembic_config(source)  # for the migrations folder; they run on DST's connection
    cfg.attributes["connection"] = dst
    command.upgrade(cfg, "head")
    metadata = MetaData()
    for schema in SCHEMAS:
        metadata.reflect(dst, schema=schema)
    tables = [table for table in metadata.sorted_tables if table.name != VERSION_TABLE]
    for table in reversed(tables):
        # The rows migrations seed (default settings) come from the source instead.
        dst.execute(table.delete())
    counts: dict[str, int] = {}
    src.exec_driver_sql("BEGIN")  # one snapshot of both SQLite files for every table
    for table in tables:
        counts[table.fullname] = _copy_table(src, dst, table)
    src.rollback()
    # The planner's statistics for the copied rows now, not when autovacuum next looks: a
    # list page of a large directory planned on empty statistics took ten times as long.
    for table in tables:
        dst.exec_driver_sql(f"ANALYZE {dst.dialect.identifier_preparer.format_table(table)}")
    return counts


def _copy_table(src: Connection, dst: Connection, table: Table) -> int:
    """Copy TABLE's rows from SRC into DST, move its id sequence on, compare the counts."""
    rows = [dict(row) for row in src.execute(select(*table.columns)).mappings()]
    if rows:
        dst.execute(table.insert(), rows)
    for column in table.primary_key.columns:
        if isinstance(column.type, Integer):
            # Rows came with their ids; the next one the app adds must not collide. setval
            # of NULL (a key with no sequence) is NULL, not an error.
            dst.execute(text("SELECT setval(pg_get_serial_sequence(:table, :column), "
                             f"COALESCE((SELECT max({column.name}) FROM {table.fullname}), 0) + 1, false)"),
                        {"table": table.fullname, "column": column.name})
    source_count = src.execute(select(func.count()).select_from(table)).scalar()
    target_count = dst.execute(select(func.count()).select_from(table)).scalar()
    if source_count != target_count:
        raise ServiceError(_l('%(fullname)s: %(source_count)s rows in SQLite, %(target_count)s copied; nothing was kept (the transaction was rolled back).', fullname=table.fullname, source_count=source_count, target_count=target_count))
    return target_count


def switch_steps(target: str, local: bool = False) -> str:
    """What the admin changes after a copy to TARGET (LOCAL: the stack's own), as lines to print."""
    setting = ("MAILROOM_DATABASE=postgresql (and no MAILROOM_DATABASE_URL)" if local
               else f"MAILROOM_DATABASE_URL={shown(target)} (with its password)")
    return (
        "To switch, with the web app stopped since the copy (anything written after it is not in PostgreSQL):\n"
        f"  1. set {setting} in {ENV_FILE}\n"
        "     or the environment of every Mailroom process;\n"
        "  2. run `flask --app app stack up`: it renders Postfix's pgsql: lookup tables and Dovecot's\n"
        "     pgsql passdb/userdb, creates their read-only roles (the URL's role needs CREATEROLE)\n"
        "     and reloads them;\n"
        "  3. start the web app. The SQLite files stay as they were: keep them until you are sure."
    )

"""`flask --app app db migrate-to URL`: SQLite into an empty PostgreSQL, and what it refuses;
`db upgrade` refusing what it cannot upgrade."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from core.config import load_config
from core.db import Database
from core.models import Alias, Domain, Mailbox
from core.services.directory import domains
from core.services.server import migrate
from stack import postgres
from stack.layout import Layout
from tests.conftest import free_ports
from tests.integration.process_support import ROOT
from tests.integration.pg_support import (new_database, pg_cluster, prepared_database,  # noqa: F401 (fixture)
                                          sqlite_directory, tables)

PASSWORD = "correct horse battery staple 7"


@pytest.fixture
def sqlite_url(tmp_path):
    """An SQLite directory at this code's schema with a domain, two mailboxes, an alias."""
    return sqlite_directory(f"sqlite:///{tmp_path / 'db' / 'mailroom.db'}", "copy.test", PASSWORD)


def cli(data_dir, source: str, *args, **config):
    """Run `flask --app app db migrate-to ARGS` on SOURCE; (exit code, output)."""
    return flask(data_dir, source, "migrate-to", *args, **config)


def flask(data_dir, url: str, *args, **config):
    """Run `flask --app app db ARGS` with the database URL in a process of its own (an app
    made here would point this test process's database at URL); (exit code, output)."""
    settings = {"DATABASE_URL": url, "DATA_DIR": str(data_dir), "ENV": "testing",
                "SECRET_KEY": "x" * 40, **config}
    env = {"PATH": os.environ["PATH"], **{f"MAILROOM_{key}": str(value) for key, value in settings.items()}}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", *args],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    return result.returncode, output


def test_copies_every_table_and_says_what_to_switch(tmp_path, sqlite_url, pg_cluster):
    target = new_database(pg_cluster)
    code, output = cli(tmp_path, sqlite_url, target)
    assert code == 0, output
    assert "MAILROOM_DATABASE_URL=" in output and "stack up" in output
    done = Database()
    done.configure(target)
    with done.transaction() as session:
        assert session.scalars(select(Mailbox.address).order_by(Mailbox.address)).all() == [
            "ann@copy.test", "bo@copy.test"]
        alias = session.scalars(select(Alias)).one()
        assert sorted(d.target for d in alias.destinations) == ["ann@copy.test", "bo@copy.test"]
        assert session.execute(text("SELECT count(*) FROM private.credentials")).scalar() == 2
        # The id sequences moved past the copied rows: the app can add the next one.
        added = domains.create_domain(session, "test", "after.test")
        session.flush()
        assert added.id > session.scalars(select(Domain.id).where(Domain.name == "copy.test")).one()
    done.engine.dispose()
    rows = {tuple(line.split()) for line in output.splitlines()}
    for table, count in {"domains": 1, "mailboxes": 2, "aliases": 1, "alias_destinations": 2,
                         "private.credentials": 2}.items():
        assert (table, str(count)) in rows, table


def test_counts_per_table_match(sqlite_url, pg_cluster):
    done = migrate.migrate_to(sqlite_url, new_database(pg_cluster))
    assert done.counts["mailboxes"] == 2 and done.counts["private.credentials"] == 2
    assert done.counts["domains"] == 1 and done.counts["alias_destinations"] == 2


def test_a_target_that_cannot_connect_is_refused(tmp_path, sqlite_url, pg_cluster):
    closed = "postgresql+psycopg://mailroom:nope@127.0.0.1:1/nowhere"
    code, output = cli(tmp_path, sqlite_url, closed)
    assert code == 1 and "Cannot connect to postgresql+psycopg://mailroom:***@127.0.0.1:1/nowhere" in output
    assert "nope" not in output  # the password is never shown


def test_a_target_with_a_newer_schema_is_refused_and_left_alone(tmp_path, sqlite_url, pg_cluster):
    target = prepared_database(pg_cluster, "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)",
                               "INSERT INTO alembic_version VALUES ('9999')")
    code, output = cli(tmp_path, sqlite_url, target)
    assert code == 1 and "has schema '9999', newer than this version of Mailroom" in output
    assert tables(target) == {"public.alembic_version"}


def test_a_non_empty_target_is_refused_and_left_alone(tmp_path, sqlite_url, pg_cluster):
    target = prepared_database(pg_cluster, "CREATE TABLE notes (id int)", "INSERT INTO notes VALUES (1)")
    code, output = cli(tmp_path, sqlite_url, target)
    assert code == 1 and "is not empty (tables: notes)" in output
    assert tables(target) == {"public.notes"}


def test_a_migrated_target_is_not_copied_into_twice(sqlite_url, pg_cluster):
    target = new_database(pg_cluster)
    migrate.migrate_to(sqlite_url, target)
    with pytest.raises(migrate.Refused, match="is not empty"):
        migrate.migrate_to(sqlite_url, target)


def test_a_source_with_a_newer_schema_is_refused(tmp_path, sqlite_url, pg_cluster):
    engine = create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    target = new_database(pg_cluster)
    code, output = cli(tmp_path, sqlite_url, target)
    assert code == 1 and "has schema '9999', which this version of Mailroom does not know" in output
    assert tables(target) == set()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql://u@h/db", "not a url"])
def test_anything_but_a_psycopg_url_is_refused(tmp_path, sqlite_url, url):
    code, output = cli(tmp_path, sqlite_url, url)
    assert code == 1 and "postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME" in output


def test_a_missing_source_is_refused_and_not_created(tmp_path, pg_cluster):
    missing = tmp_path / "nowhere" / "mailroom.db"
    target = new_database(pg_cluster)
    code, output = cli(tmp_path, f"sqlite:///{missing}", target)
    assert code == 1 and f"There is no SQLite database at {missing}" in output
    assert not missing.parent.exists() and tables(target) == set()


def test_local_starts_the_stacks_own_postgresql_and_copies_into_it(sqlite_url):
    base = Path(tempfile.mkdtemp(prefix="mr-pgl-", dir="/tmp"))
    base.chmod(0o755)  # the postgres user must reach STACK_DIR/lib/postgresql
    port = free_ports(1)[0]
    try:
        code, output = cli(base / "data", sqlite_url, "local", POSTGRES_PORT=port)
        assert code == 0, output
        assert "set MAILROOM_DATABASE=postgresql (and no MAILROOM_DATABASE_URL)" in output
        cfg = load_config({"DATA_DIR": str(base / "data"), "DATABASE": "postgresql", "POSTGRES_PORT": port},
                          environ={})
        engine = create_engine(cfg["DATABASE_URL"])  # the URL the app will build from its secret
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM mailboxes").scalar() == 2
        engine.dispose()
        code, output = cli(base / "data", sqlite_url, "local", POSTGRES_PORT=port)
        assert code == 1 and "is not empty" in output  # a second copy is refused
    finally:
        cfg = load_config({"DATA_DIR": str(base / "data"), "DATABASE": "postgresql", "POSTGRES_PORT": port},
                          environ={})
        postgres.stop(postgres.local_cluster(cfg, Layout.from_config(cfg)))
        shutil.rmtree(base, ignore_errors=True)


def test_upgrade_of_a_database_that_cannot_connect_is_refused(tmp_path):
    code, output = flask(tmp_path, "postgresql+psycopg://mailroom:nope@127.0.0.1:1/nowhere", "upgrade")
    assert code == 1 and "Cannot connect to postgresql+psycopg://mailroom:***@127.0.0.1:1/nowhere" in output
    assert "Nothing was changed" in output and "nope" not in output


def test_upgrade_of_a_postgresql_database_with_a_newer_schema_is_refused_and_left_alone(tmp_path, pg_cluster):
    target = prepared_database(pg_cluster, "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)",
                               "INSERT INTO alembic_version VALUES ('9999')")
    code, output = flask(tmp_path, target, "upgrade")
    assert code == 1 and "has schema '9999', newer than this version of Mailroom knows" in output
    assert tables(target) == {"public.alembic_version"}


def test_upgrade_of_an_sqlite_database_with_a_newer_schema_is_refused_and_left_alone(tmp_path, sqlite_url):
    engine = create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
        before = connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
    code, output = flask(tmp_path, sqlite_url, "upgrade", "--json")
    assert code == 1 and "has schema '9999', newer than this version of Mailroom knows" in output
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "9999"
        assert connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == before
    engine.dispose()

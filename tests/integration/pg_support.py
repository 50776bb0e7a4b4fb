"""A PostgreSQL cluster of the test session (stack/postgres.py) and empty databases in it."""
from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from core.db import Database, upgrade
from core.services.directory import aliases, domains, mailboxes
from stack import postgres
from tests.conftest import free_ports


@pytest.fixture(scope="module")
def pg_cluster():
    """A running local cluster on a free loopback port, removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="mr-pg-", dir="/tmp"))
    base.chmod(0o755)  # the postgres user must reach its folder
    cluster = postgres.Cluster(base / "postgresql", free_ports(1)[0])
    postgres.init(cluster)
    postgres.start(cluster)
    try:
        yield cluster
    finally:
        postgres.stop(cluster)
        shutil.rmtree(base, ignore_errors=True)


def role_url(cluster: postgres.Cluster, role: str, password: str, database: str) -> str:
    """A TCP URL for ROLE on DATABASE in CLUSTER, as the daemons connect."""
    return f"postgresql+psycopg://{role}:{password}@{cluster.host}:{cluster.port}/{database}"


def new_database(cluster: postgres.Cluster) -> str:
    """Create an empty database in CLUSTER; return its superuser URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(cluster.superuser_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return cluster.superuser_url(name)


def prepared_database(cluster: postgres.Cluster, *statements: str) -> str:
    """A new database in CLUSTER after STATEMENTS ran in it; its superuser URL."""
    url = new_database(cluster)
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    engine.dispose()
    return url


def sqlite_directory(url: str, domain: str, password: str) -> str:
    """An SQLite directory at URL, at this code's schema: DOMAIN with mailboxes ann and bo
    (PASSWORD) and the alias team -> ann + bo. Returns URL."""
    upgrade(url)
    database = Database()
    database.configure(url)
    with database.transaction() as session:
        domains.create_domain(session, "test", domain)
        for person in ("ann", "bo"):
            mailboxes.create_mailbox(session, "test", f"{person}@{domain}", password=password)
        aliases.create_alias(session, "test", f"team@{domain}", [f"ann@{domain}", f"bo@{domain}"])
    database.engine.dispose()
    return url


def tables(url: str) -> set[str]:
    """Every table in the public and private schemas of the database at URL."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = inspect(connection)
            return {f"{schema}.{name}" for schema in ("public", "private")
                    if schema in found.get_schema_names()
                    for name in found.get_table_names(schema=schema)}
    finally:
        engine.dispose()

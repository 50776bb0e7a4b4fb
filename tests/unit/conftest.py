"""Fixtures for unit tests: a migrated SQLite database, no daemons."""
import pytest

DIRECTORY_PASSWORD = "correct horse battery"

from core.db import Database, upgrade


@pytest.fixture
def database(tmp_path):
    """A Database bound to a freshly migrated SQLite file."""
    url = f"sqlite:///{tmp_path / 'unit.db'}"
    upgrade(url)
    database = Database()
    database.configure(url)
    return database


@pytest.fixture
def directory(database):
    """A Database holding example.test, other.test and the mailboxes ann and bob."""
    from core.services.directory import lookup

    with database.transaction() as s:
        for name in ("example.test", "other.test"):
            lookup.add_domain(s, name)
        for who in ("ann", "bob"):
            lookup.add_mailbox(s, f"{who}@example.test", DIRECTORY_PASSWORD)
    return database


@pytest.fixture
def session(database):
    """A session on the fresh database."""
    with database.factory() as session:
        yield session

"""Fixtures for unit tests: a migrated SQLite database, no daemons."""
import pytest

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
def session(database):
    """A session on the fresh database."""
    with database.factory() as session:
        yield session

import sqlite3

from alembic import command
from alembic.script import ScriptDirectory

from core.db import alembic_config, upgrade
from core.models import Base


def test_every_migration_runs_on_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    cfg = alembic_config(url)
    script = ScriptDirectory.from_config(cfg)
    for revision in reversed(list(script.walk_revisions())):  # oldest first, one at a time
        command.upgrade(cfg, revision.revision)
    with sqlite3.connect(tmp_path / "empty.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        versions = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
    assert set(Base.metadata.tables) <= tables
    assert versions == set(script.get_heads())


def test_migrations_match_the_models(tmp_path):
    """Every model column exists in the migrated schema with the same name."""
    upgrade(f"sqlite:///{tmp_path / 'm.db'}")
    with sqlite3.connect(tmp_path / "m.db") as conn:
        for table in Base.metadata.sorted_tables:
            columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table.name})")}
            assert {c.name for c in table.columns} == columns, table.name


def test_downgrade_to_base_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    upgrade(url)

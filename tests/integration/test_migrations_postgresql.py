"""The Alembic migrations on PostgreSQL: one at a time, down to nothing and up again."""
from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from core.db import alembic_config
from core.models import Base
from tests.integration.pg_support import new_database, pg_cluster, tables  # noqa: F401 (fixture)


def columns(url: str) -> set[str]:
    """Every column as 'schema.table.column' (public tables without the schema)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = inspect(connection)
            return {f"{t if s == 'public' else f'{s}.{t}'}.{c['name']}"
                    for s in ("public", "private") for t in found.get_table_names(schema=s)
                    for c in found.get_columns(t, schema=s)}
    finally:
        engine.dispose()


def test_every_migration_runs_and_reverts_on_postgresql(pg_cluster):
    url = new_database(pg_cluster)
    cfg = alembic_config(url)
    script = ScriptDirectory.from_config(cfg)
    for revision in reversed(list(script.walk_revisions())):  # oldest first, one at a time
        command.upgrade(cfg, revision.revision)
    found = {name.removeprefix("public.") for name in tables(url)}
    assert set(Base.metadata.tables) <= found
    model_columns = {f"{table.fullname}.{column.name}" for table in Base.metadata.sorted_tables
                     for column in table.columns}
    assert model_columns <= columns(url)
    command.downgrade(cfg, "base")
    assert tables(url) <= {"public.alembic_version"}
    command.upgrade(cfg, "head")
    assert set(Base.metadata.tables) <= {name.removeprefix("public.") for name in tables(url)}

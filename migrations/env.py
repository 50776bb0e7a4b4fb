"""Alembic environment: migrations run against the URL core.db.alembic_config sets."""
from alembic import context
from sqlalchemy import engine_from_config, pool

from core.db import PRIVATE, attach_private

config = context.config


def run_migrations_online() -> None:
    """Run every pending migration in one connection (the caller's, when it passed one)."""
    given = config.attributes.get("connection")
    if given is not None:
        # `db migrate-to`: the schema and the copied rows commit together, or neither.
        _run(given)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    url = config.get_main_option("sqlalchemy.url")
    if url.startswith("sqlite"):
        attach_private(engine, url)
    with engine.connect() as connection:
        _run(connection)
        connection.commit()


def _run(connection) -> None:
    if connection.dialect.name == "postgresql":
        # PostgreSQL's counterpart of the attached private file (core/db.py): a schema,
        # there before any migration names it.
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {PRIVATE}")
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (alembic --sql)."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""Password hashes and sealed credentials move to the private database (core/db.py).

Postfix reads the main SQLite file as its own user; it must find no secret there.
Step one copies the secrets into the private file and commits (each statement on its
own, each repeatable); step two removes them from the main file in the migration's
transaction. A run cut short between the two is simply run again. PostgreSQL has one
database and transactional DDL: there both steps are one transaction. secure_delete
overwrites the removed content instead of leaving it in free pages; core.db.upgrade
then empties the WAL, which held the old pages too. PostgreSQL has no secure_delete:
the dropped column's space is reclaimed by VACUUM, and the daemons' roles could never
read the column (stack/pgsql.py grants them named columns only).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PRIVATE = "private"
SESSION_COLUMNS = "id, address, sealed_credential, last_seen_at, created_at"


def _sessions_table(schema=None) -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("sealed_credential", sa.LargeBinary, nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True),
                  server_default=sa.func.current_timestamp()),
        schema=schema, if_not_exists=True,
    )
    op.create_index("ix_web_sessions_address", "web_sessions", ["address"], schema=schema,
                    if_not_exists=True)


def _copy_secrets(insert: str) -> None:
    """Create the private tables and copy the secrets into them with the verb INSERT."""
    op.create_table(
        "credentials",
        sa.Column("address", sa.String(320), primary_key=True,
                  sqlite_on_conflict_primary_key="REPLACE"),
        sa.Column("password_hash", sa.String(255), nullable=False),
        schema=PRIVATE, if_not_exists=True,
    )
    _sessions_table(PRIVATE)
    op.execute(f"{insert} private.credentials (address, password_hash) "
               "SELECT address, password_hash FROM mailboxes")
    op.execute(f"{insert} private.web_sessions ({SESSION_COLUMNS}) "
               f"SELECT {SESSION_COLUMNS} FROM web_sessions")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.get_context().autocommit_block():
            _copy_secrets("INSERT OR REPLACE INTO")
        op.execute("PRAGMA main.secure_delete = ON")
    else:
        _copy_secrets("INSERT INTO")
    op.drop_table("web_sessions")
    op.drop_column("mailboxes", "password_hash")


def downgrade() -> None:
    op.add_column("mailboxes", sa.Column("password_hash", sa.String(255), nullable=False,
                                         server_default=""))
    op.execute("UPDATE mailboxes SET password_hash = COALESCE((SELECT c.password_hash FROM "
               "private.credentials c WHERE c.address = mailboxes.address), '')")
    _sessions_table()
    op.execute(f"INSERT INTO web_sessions ({SESSION_COLUMNS}) "
               f"SELECT {SESSION_COLUMNS} FROM private.web_sessions")
    op.drop_table("web_sessions", schema=PRIVATE)
    op.drop_table("credentials", schema=PRIVATE)

"""Master user: the switch (server settings) and the master password's hash (private).

Dovecot's master passdb reads private.master_credentials (one row per master login
name, `root`); the web app writes it, nobody but Dovecot's root auth worker and the
app can open that file (core/db.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PRIVATE = "private"


def upgrade() -> None:
    op.add_column("server_settings", sa.Column("master_user", sa.Boolean, nullable=False,
                                               server_default=sa.false()))
    op.create_table(
        "master_credentials",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        schema=PRIVATE,
    )


def downgrade() -> None:
    op.drop_table("master_credentials", schema=PRIVATE)
    with op.batch_alter_table("server_settings") as batch:
        batch.drop_column("master_user")

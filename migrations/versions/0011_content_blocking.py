"""Attachments blocked by content (server settings): executables, archives, chosen types.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy): Postfix and Dovecot read this database live.
    for name in ("block_executables", "block_archives"):
        op.add_column("server_settings", sa.Column(name, sa.Boolean, nullable=False,
                                                   server_default=sa.false()))
    op.add_column("server_settings", sa.Column("block_types", sa.Text, nullable=False,
                                               server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("server_settings") as batch:
        batch.drop_column("block_types")
        batch.drop_column("block_archives")
        batch.drop_column("block_executables")

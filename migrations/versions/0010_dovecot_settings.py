"""Dovecot settings: deleted mail to Trash, unencrypted sign-in (server), IMAP/POP3 per mailbox.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy): the daemons read these tables live.
    for name in ("deleted_to_trash", "allow_unencrypted"):
        op.add_column("server_settings", sa.Column(name, sa.Boolean, nullable=False,
                                                   server_default=sa.false()))
    for name in ("imap_enabled", "pop3_enabled"):  # existing mailboxes keep both protocols
        op.add_column("mailboxes", sa.Column(name, sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("mailboxes") as batch:
        batch.drop_column("pop3_enabled")
        batch.drop_column("imap_enabled")
    with op.batch_alter_table("server_settings") as batch:
        batch.drop_column("allow_unencrypted")
        batch.drop_column("deleted_to_trash")

"""Portal settings: "move spam to Junk" per mailbox, and the server's Junk retention.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The server default for "hold Junk for N days" (JSON-encoded, like every setting).
JUNK_KEY = "junk_retention_days"
JUNK_DEFAULT = "30"


def upgrade() -> None:
    op.add_column("mailboxes", sa.Column("spam_to_junk", sa.Boolean, nullable=False,
                                         server_default=sa.true()))
    settings = sa.table("settings", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.bulk_insert(settings, [{"key": JUNK_KEY, "value": JUNK_DEFAULT}])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM settings WHERE key = :key").bindparams(key=JUNK_KEY))
    with op.batch_alter_table("mailboxes") as batch:
        batch.drop_column("spam_to_junk")

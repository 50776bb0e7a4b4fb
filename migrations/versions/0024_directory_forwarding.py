"""Forwarding and "spam to Junk" of directory users (issue 19), by stable id like their
quota: Dovecot's directory userdb hands them to the same Sieve before-scripts as a
database mailbox's. And each id's extra addresses as the worker last read them, which
the identities and the vacation reply offer.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("directory_settings", sa.Column("forward_address", sa.String(320), nullable=True))
    op.add_column("directory_settings", sa.Column("forward_keep_copy", sa.Boolean, nullable=False,
                                                  server_default=sa.true()))
    op.add_column("directory_settings", sa.Column("spam_to_junk", sa.Boolean, nullable=False,
                                                  server_default=sa.true()))
    op.add_column("directory_people", sa.Column("extra_addresses", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("directory_people") as batch:
        batch.drop_column("extra_addresses")
    with op.batch_alter_table("directory_settings") as batch:
        batch.drop_column("spam_to_junk")
        batch.drop_column("forward_keep_copy")
        batch.drop_column("forward_address")

"""Send later and Undo send: messages waiting for their time (private: text and sealed credential).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

PRIVATE = "private"


def upgrade() -> None:
    op.create_table(
        "scheduled_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("subject", sa.String(998), nullable=False, server_default=""),
        sa.Column("source", sa.LargeBinary, nullable=False),
        sa.Column("sealed_credential", sa.LargeBinary, nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("undo", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("state", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.current_timestamp()),
        schema=PRIVATE,
    )
    op.create_index("ix_scheduled_messages_address", "scheduled_messages", ["address"],
                    schema=PRIVATE)
    op.create_index("ix_scheduled_messages_send_at", "scheduled_messages", ["send_at"],
                    schema=PRIVATE)


def downgrade() -> None:
    op.drop_index("ix_scheduled_messages_send_at", "scheduled_messages", schema=PRIVATE)
    op.drop_index("ix_scheduled_messages_address", "scheduled_messages", schema=PRIVATE)
    op.drop_table("scheduled_messages", schema=PRIVATE)

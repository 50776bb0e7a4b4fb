"""Admin: the audit log, queued mail-store jobs and one-time set-password links.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _moment(name, nullable=False, **kwargs):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kwargs)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        _moment("created_at"),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column("domain", sa.String(253)),
        sa.Column("before", sa.Text),
        sa.Column("after", sa.Text),
    )
    for column in ("created_at", "kind", "domain"):
        op.create_index(f"ix_audit_log_{column}", "audit_log", [column])
    op.create_table(
        "admin_jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(320), nullable=False),
        _moment("created_at"),
        _moment("finished_at", nullable=True),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_admin_jobs_state", "admin_jobs", ["state"])
    op.create_table(
        "password_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("mailbox_id", sa.Integer, sa.ForeignKey("mailboxes.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _moment("created_at"),
        _moment("expires_at"),
    )
    op.create_index("ix_password_links_mailbox_id", "password_links", ["mailbox_id"])


def downgrade() -> None:
    for table in ("password_links", "admin_jobs", "audit_log"):
        op.drop_table(table)

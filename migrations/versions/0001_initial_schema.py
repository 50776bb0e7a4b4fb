"""Initial schema: domains, mailboxes, groups, aliases, shared mailboxes, roles, settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _created():
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp()
    )


def _fk(name, target, ondelete, nullable=False, primary_key=False):
    return sa.Column(
        name,
        sa.Integer,
        sa.ForeignKey(target, ondelete=ondelete),
        nullable=nullable,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "domains",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(253), nullable=False, unique=True),
        sa.Column("mode", sa.String(16), nullable=False, server_default="deliver"),
        sa.Column("relay_host", sa.String(253)),
        sa.Column("relay_port", sa.Integer),
        sa.Column("bcc_address", sa.String(320)),
        sa.Column("catchall_address", sa.String(320)),
        sa.Column("dkim_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("disclaimer_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("disclaimer_markdown", sa.Text, nullable=False, server_default=""),
        _created(),
    )
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("domain_id", "domains.id", "RESTRICT"),
        sa.Column("local_part", sa.String(64), nullable=False),
        sa.Column("address", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("quota_mb", sa.Integer),
        sa.Column("junk_days", sa.Integer),
        sa.Column("forward_address", sa.String(320)),
        sa.Column("forward_keep_copy", sa.Boolean, nullable=False, server_default=sa.true()),
        _created(),
        sa.UniqueConstraint("domain_id", "local_part"),
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        _created(),
    )
    op.create_table(
        "group_members",
        _fk("group_id", "groups.id", "CASCADE", primary_key=True),
        _fk("mailbox_id", "mailboxes.id", "CASCADE", primary_key=True),
    )
    op.create_table(
        "shared_mailboxes",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("domain_id", "domains.id", "RESTRICT"),
        sa.Column("local_part", sa.String(64), nullable=False),
        sa.Column("address", sa.String(320), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        _created(),
        sa.UniqueConstraint("domain_id", "local_part"),
    )
    op.create_table(
        "shared_mailbox_owners",
        _fk("shared_mailbox_id", "shared_mailboxes.id", "CASCADE", primary_key=True),
        _fk("group_id", "groups.id", "RESTRICT", primary_key=True),
    )
    op.create_table(
        "aliases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("local_part", sa.String(64), nullable=False),
        _fk("domain_id", "domains.id", "CASCADE", nullable=True),
        sa.Column("local_only", sa.Boolean, nullable=False, server_default=sa.false()),
        _created(),
        sa.UniqueConstraint("local_part", "domain_id"),
    )
    op.create_index("ix_aliases_local_part", "aliases", ["local_part"])
    op.create_table(
        "alias_destinations",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("alias_id", "aliases.id", "CASCADE"),
        sa.Column("kind", sa.String(16), nullable=False),
        _fk("mailbox_id", "mailboxes.id", "CASCADE", nullable=True),
        _fk("shared_mailbox_id", "shared_mailboxes.id", "CASCADE", nullable=True),
        sa.Column("address", sa.String(320)),
        sa.CheckConstraint(
            "(kind = 'mailbox' AND mailbox_id IS NOT NULL)"
            " OR (kind = 'shared' AND shared_mailbox_id IS NOT NULL)"
            " OR (kind = 'external' AND address IS NOT NULL)",
            name="ck_alias_destination_kind",
        ),
    )
    op.create_index("ix_alias_destinations_alias_id", "alias_destinations", ["alias_id"])
    op.create_table(
        "admin_roles",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("mailbox_id", "mailboxes.id", "CASCADE"),
        sa.Column("role", sa.String(16), nullable=False),
        _fk("domain_id", "domains.id", "CASCADE", nullable=True),
        _created(),
        sa.UniqueConstraint("mailbox_id", "role", "domain_id"),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("sealed_credential", sa.LargeBinary, nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        _created(),
    )
    op.create_index("ix_web_sessions_address", "web_sessions", ["address"])


def downgrade() -> None:
    for table in (
        "web_sessions", "settings", "admin_roles", "alias_destinations", "aliases",
        "shared_mailbox_owners", "shared_mailboxes", "group_members", "groups",
        "mailboxes", "domains",
    ):
        op.drop_table(table)

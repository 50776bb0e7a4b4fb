"""The stable id of the directory user who made an API token (issue 20, item 6): the
token works only while the directory gives its address to that same person, enabled;
a new person later given the address does not inherit it.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None
PRIVATE = "private"


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("directory_id", sa.String(255), nullable=True), schema=PRIVATE)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=PRIVATE) as batch:
        batch.drop_column("directory_id")

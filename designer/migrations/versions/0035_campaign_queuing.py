"""a started campaign records how far the writing of its ledger has come

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-03 19:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("audience_size", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("audience_read", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("queue_heartbeat_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("queue_heartbeat_at")
        batch.drop_column("audience_read")
        batch.drop_column("audience_size")

"""templates can be archived: kept for the messages that used them, offered nowhere new

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-03 15:30:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("archived_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("archived_at")

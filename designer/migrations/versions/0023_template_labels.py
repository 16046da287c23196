"""template labels: the label dictionary of a template, per language

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 00:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("labels", sa.JSON(), nullable=False, server_default="{}"))


def downgrade():
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("labels")

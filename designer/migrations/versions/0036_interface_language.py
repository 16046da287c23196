"""a user may choose the interface's language; none means the browser's

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-04 04:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("ui_language", sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("ui_language")

"""the outbox keeps each caught message's From and Cc headers and its attachments

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 12:30:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(
            sa.Column("from_header", sa.String(1000), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("cc_header", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("attachments", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("attachments")
        batch.drop_column("cc_header")
        batch.drop_column("from_header")

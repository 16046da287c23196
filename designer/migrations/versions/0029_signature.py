"""user signatures (merged as sender.signature) and test sends marked on their message

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 08:30:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("signature", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("test")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("signature")

"""list sends: one-off campaigns to records ticked in a list, from their owners or the system

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 09:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("segments") as batch:
        batch.add_column(
            sa.Column("module", sa.String(20), nullable=False, server_default="contact")
        )
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(
            sa.Column("one_off", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("sender_mode", sa.String(10), nullable=False, server_default="user")
        )


def downgrade():
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("sender_mode")
        batch.drop_column("one_off")
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("module")

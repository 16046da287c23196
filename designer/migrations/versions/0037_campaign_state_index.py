"""a campaign's messages by state, counted from the index alone

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-04 08:00:00

"""

from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages") as batch:
        batch.create_index("ix_messages_campaign_id_state", ["campaign_id", "state"], unique=False)


def downgrade():
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_campaign_id_state")

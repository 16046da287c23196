"""lists read in cursor pages (a campaign's recipients, a workflow's runs) have an index
that ends in the id they are paged by

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03 15:20:00

"""

from alembic import op


revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_campaign_id")
        batch.create_index("ix_messages_campaign_id_id", ["campaign_id", "id"], unique=False)
    op.create_index("ix_workflow_runs_workflow_id_id", "workflow_runs", ["workflow_id", "id"])


def downgrade():
    op.drop_index("ix_workflow_runs_workflow_id_id", table_name="workflow_runs")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_campaign_id_id")
        batch.create_index("ix_messages_campaign_id", ["campaign_id"], unique=False)

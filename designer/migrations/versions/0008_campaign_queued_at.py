"""campaign queued_at: set once every ledger row of the campaign is written

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 07:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE campaigns SET queued_at = started_at "
               "WHERE state NOT IN ('draft', 'scheduled')")


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('queued_at')

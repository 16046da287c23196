"""tracking events: hit_key, unique, so a repeated flush of buffered hits counts nothing twice

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 07:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hit_key', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_tracking_events_hit_key', ['hit_key'], unique=True)


def downgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_index('ix_tracking_events_hit_key')
        batch_op.drop_column('hit_key')

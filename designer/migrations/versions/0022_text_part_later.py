"""text part later: the text part of a large template version is derived after saving

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('template_versions') as batch:
        batch.add_column(
            sa.Column('text_pending', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table('template_versions') as batch:
        batch.drop_column('text_pending')

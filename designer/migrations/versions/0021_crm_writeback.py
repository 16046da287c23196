"""the CRM write-back: which vtiger fields receive the counts, the records due a write-back, messages recorded in vtiger

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 00:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

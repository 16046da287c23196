"""Standard Webhooks: a second secret per hook source; outbound endpoints, their subscriptions and delivery log

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 00:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

"""suppression events: the audit list of the suppression list

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 05:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "suppression_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_suppression_events_user_id"),
    )
    op.create_index("ix_suppression_events_email", "suppression_events", ["email"])


def downgrade():
    op.drop_index("ix_suppression_events_email", table_name="suppression_events")
    op.drop_table("suppression_events")

"""the CRM write-back: which vtiger fields receive the counts, the records due a write-back, messages recorded in vtiger

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 00:00:00

The field choices and the cursor over messages and events live in ``settings``
(keys ``crm_writeback`` and ``crm_writeback_cursor``); these tables hold the
per-record state.
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "crm_writeback_states",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("module", sa.String(20), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("due", sa.Boolean(), nullable=False),
        sa.Column("pushed", sa.JSON(), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("pushed_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.UniqueConstraint("module", "record_id"),
    )
    op.create_index(
        "ix_crm_writeback_states_due", "crm_writeback_states", ["due", "next_attempt_at"]
    )
    op.create_table(
        "crm_message_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "message_id",
            sa.Integer(),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("module", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("vtiger_id", sa.String(100), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.UniqueConstraint("message_id", "module"),
    )


def downgrade():
    op.drop_table("crm_message_records")
    op.drop_index("ix_crm_writeback_states_due", table_name="crm_writeback_states")
    op.drop_table("crm_writeback_states")

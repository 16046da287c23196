"""topics: subscription topics, per-topic opt-outs, the topic of a campaign and of a message

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 08:40:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("description", sa.String(300), nullable=False),
        sa.Column("archived_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_topics_name"),
    )
    op.create_table(
        "topic_opt_outs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], name="fk_topic_opt_outs_topic_id"),
        sa.UniqueConstraint("email", "topic_id", name="uq_topic_opt_outs_email_topic"),
    )
    op.create_index("ix_topic_opt_outs_email", "topic_opt_outs", ["email"])
    op.create_index("ix_topic_opt_outs_topic_id", "topic_opt_outs", ["topic_id"])
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("topic_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("topic_opt_out_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.create_foreign_key("fk_campaigns_topic_id", "topics", ["topic_id"], ["id"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("topic_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_messages_topic_id", "topics", ["topic_id"], ["id"])
    with op.batch_alter_table("suppression_events") as batch:
        batch.add_column(sa.Column("topic_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_suppression_events_topic_id", "topics", ["topic_id"], ["id"])


def downgrade():
    for table in ("suppression_events", "messages"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_topic_id", type_="foreignkey")
            batch.drop_column("topic_id")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint("fk_campaigns_topic_id", type_="foreignkey")
        batch.drop_column("topic_opt_out_count")
        batch.drop_column("topic_id")
    op.drop_index("ix_topic_opt_outs_topic_id", table_name="topic_opt_outs")
    op.drop_index("ix_topic_opt_outs_email", table_name="topic_opt_outs")
    op.drop_table("topic_opt_outs")
    op.drop_table("topics")

"""replies to our messages read from the users' INBOX, and where reading got to

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-03 15:10:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), sa.ForeignKey("mailboxes.id"), nullable=True),
        sa.Column("uid_validity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("header_message_id", sa.String(300), nullable=False),
        sa.Column("sender_name", sa.String(200), nullable=False),
        sa.Column("sender_email", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(1000), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("mailbox_id", "uid_validity", "uid", name="uq_replies_mailbox_uid"),
    )
    op.create_index("ix_replies_message_id", "replies", ["message_id"])
    with op.batch_alter_table("mailboxes") as batch:
        batch.add_column(sa.Column("inbox_uid_validity", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("inbox_last_uid", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("replies_read_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("replies_error", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("replied_at", sa.DateTime(), nullable=True))
    op.create_index("ix_messages_message_id", "messages", ["message_id"])


def downgrade():
    op.drop_index("ix_messages_message_id", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("replied_at")
    with op.batch_alter_table("mailboxes") as batch:
        batch.drop_column("replies_error")
        batch.drop_column("replies_read_at")
        batch.drop_column("inbox_last_uid")
        batch.drop_column("inbox_uid_validity")
    op.drop_index("ix_replies_message_id", table_name="replies")
    op.drop_table("replies")

"""compose: Cc and Bcc on messages, uploaded files, one-off template versions

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 08:40:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("to_extra", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("cc", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("bcc", sa.JSON(), nullable=True))
    with op.batch_alter_table("template_versions") as batch:
        batch.add_column(sa.Column("one_off_of_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_template_versions_one_off_of_id", "template_versions", ["one_off_of_id"], ["id"]
        )
    op.create_table(
        "message_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name="fk_message_files_message_id"),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name="fk_message_files_uploaded_by_id"
        ),
    )
    op.create_index("ix_message_files_message_id", "message_files", ["message_id"])


def downgrade():
    op.drop_index("ix_message_files_message_id", table_name="message_files")
    op.drop_table("message_files")
    with op.batch_alter_table("template_versions") as batch:
        batch.drop_constraint("fk_template_versions_one_off_of_id", type_="foreignkey")
        batch.drop_column("one_off_of_id")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("bcc")
        batch.drop_column("cc")
        batch.drop_column("to_extra")

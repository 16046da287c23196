"""mail purpose: each template is marketing or transactional, and each message keeps its own

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 00:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("templates") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(15), nullable=False, server_default="marketing")
        )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(15), nullable=False, server_default="marketing")
        )
    # The product's own mail (set-password links, invitations) is transactional.
    op.execute("UPDATE templates SET purpose = 'transactional' WHERE system_key IS NOT NULL")
    op.execute(
        "UPDATE messages SET purpose = 'transactional' WHERE template_version_id IN ("
        " SELECT template_versions.id FROM template_versions"
        " JOIN templates ON templates.id = template_versions.template_id"
        " WHERE templates.system_key IS NOT NULL)"
    )


def downgrade():
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("purpose")
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("purpose")

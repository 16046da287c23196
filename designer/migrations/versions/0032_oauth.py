"""OAuth2 grants: mailboxes, outgoing servers and the bounce mailbox sign in with a token

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03 15:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oauth_grants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("account", sa.String(320), nullable=False),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=False),
        sa.Column("access_token_encrypted", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column(
            "mailbox_id",
            sa.Integer(),
            sa.ForeignKey("mailboxes.id", ondelete="CASCADE"),
            nullable=True,
            unique=True,
        ),
        sa.Column(
            "server_id",
            sa.Integer(),
            sa.ForeignKey("outgoing_servers.id", ondelete="CASCADE"),
            nullable=True,
            unique=True,
        ),
        sa.Column("bounces", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_table("oauth_grants")

"""the events the processor has still to take, found from an index of their own

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-04 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

WAITING = sa.text("state IN ('received', 'pending')")


def upgrade():
    op.create_index(
        "ix_events_waiting",
        "events",
        ["id"],
        unique=False,
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )


def downgrade():
    op.drop_index("ix_events_waiting", table_name="events")

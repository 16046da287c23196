"""bounces: reported delivery failures, and the worst bounce of each message

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 08:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bounces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('kind', sa.String(length=4), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False, server_default=''),
    sa.Column('diagnostic', sa.String(length=500), nullable=False, server_default=''),
    sa.Column('source', sa.String(length=4), nullable=False, server_default='dsn'),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name='fk_bounces_message_id'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bounces', schema=None) as batch_op:
        batch_op.create_index('ix_bounces_message_id', ['message_id'], unique=False)
        batch_op.create_index('ix_bounces_email', ['email'], unique=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bounce', sa.String(length=4), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('bounce')
    with op.batch_alter_table('bounces', schema=None) as batch_op:
        batch_op.drop_index('ix_bounces_email')
        batch_op.drop_index('ix_bounces_message_id')
    op.drop_table('bounces')

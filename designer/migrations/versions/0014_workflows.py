"""workflows: hook sources, events, workflows and their runs; timezones on contacts and
organisations; PDF attachments chosen per message

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'hook_sources',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('secret_encrypted', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_event_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('event_id', sa.String(length=200), nullable=False),
        sa.Column('type', sa.String(length=100), nullable=False),
        sa.Column('module', sa.String(length=30), nullable=False),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=True),
        sa.Column('record_ref', sa.String(length=100), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('processed_at', sa.DateTime(), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source', 'event_id'),
    )
    op.create_index('ix_events_state', 'events', ['state'])
    op.create_table(
        'workflows',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('module', sa.String(length=30), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('trigger', sa.JSON(), nullable=False),
        sa.Column('conditions', sa.JSON(), nullable=False),
        sa.Column('actions', sa.JSON(), nullable=False),
        sa.Column('repeat', sa.JSON(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'workflow_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workflow_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('cause', sa.String(length=10), nullable=False),
        sa.Column('fire_key', sa.String(length=200), nullable=True),
        sa.Column('module', sa.String(length=30), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.Column('conditions', sa.JSON(), nullable=False),
        sa.Column('actions', sa.JSON(), nullable=False),
        sa.Column('message_ids', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['events.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('workflow_id', 'fire_key'),
    )
    op.create_index('ix_workflow_runs_workflow_record', 'workflow_runs',
                    ['workflow_id', 'record_id'])
    for table in ('contacts', 'organisations'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=False,
                                          server_default=''))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attach_pdf_ids', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('attach_pdf_ids')
    for table in ('organisations', 'contacts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('timezone')
    op.drop_index('ix_workflow_runs_workflow_record', table_name='workflow_runs')
    op.drop_table('workflow_runs')
    op.drop_table('workflows')
    op.drop_index('ix_events_state', table_name='events')
    op.drop_table('events')
    op.drop_table('hook_sources')

"""the CRM connection (vtiger): its settings, sync state, field mapping and write-back queue

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 00:00:00

Records deleted in the CRM are archived (``archived_at``), never removed, so their
messages stay; products get the CRM's id like the other records.
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

ARCHIVED = ('organisations', 'contacts', 'documents', 'products')


def upgrade():
    op.create_table(
        'crm_connections',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('url', sa.String(500), nullable=False),
        sa.Column('user_name', sa.String(100), nullable=False),
        sa.Column('access_key_encrypted', sa.Text(), nullable=False),
        sa.Column('vtiger_version', sa.String(40), nullable=False),
        sa.Column('is_admin', sa.Boolean(), nullable=False),
        sa.Column('modules', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('last_sync_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
    )
    op.create_table(
        'crm_sync_states',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('module', sa.String(40), nullable=False, unique=True),
        sa.Column('token', sa.Integer(), nullable=False),
        sa.Column('importing', sa.Boolean(), nullable=False),
        sa.Column('pages_done', sa.Integer(), nullable=False),
        sa.Column('records_done', sa.Integer(), nullable=False),
        sa.Column('estimated_total', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('last_run_at', sa.DateTime(), nullable=True),
        sa.Column('last_sweep_at', sa.DateTime(), nullable=True),
        sa.Column('vtiger_count', sa.Integer(), nullable=False, server_default='-1'),
        sa.Column('last_error', sa.Text(), nullable=False),
    )
    op.create_table(
        'crm_field_maps',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('vtiger_module', sa.String(40), nullable=False),
        sa.Column('vtiger_field', sa.String(100), nullable=False),
        sa.Column('module', sa.String(30), nullable=False),
        sa.Column('field', sa.String(64), nullable=False),
        sa.UniqueConstraint('vtiger_module', 'vtiger_field'),
    )
    op.create_table(
        'crm_owners',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('vtiger_id', sa.String(40), nullable=False, unique=True),
        sa.Column('user_name', sa.String(100), nullable=False),
        sa.Column('user_id', sa.Integer(),
                  sa.ForeignKey('users.id', name='fk_crm_owners_user_id', ondelete='SET NULL'),
                  nullable=True),
    )
    for table in ARCHIVED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('archived_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(100), nullable=True))
        batch_op.create_unique_constraint('uq_products_external_id', ['external_id'])


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint('uq_products_external_id', type_='unique')
        batch_op.drop_column('external_id')
    for table in ARCHIVED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('archived_at')
    op.drop_table('crm_owners')
    op.drop_table('crm_field_maps')
    op.drop_table('crm_sync_states')
    op.drop_table('crm_connections')

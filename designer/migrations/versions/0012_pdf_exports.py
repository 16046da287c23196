"""pdf exports: batch renders of many records and their items

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 08:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pdf_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('module', sa.String(length=30), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('record_ids', sa.JSON(), nullable=False),
    sa.Column('packing', sa.String(length=10), nullable=False, server_default='zip'),
    sa.Column('state', sa.String(length=10), nullable=False, server_default='queued'),
    sa.Column('total', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('rendered', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('failed', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('filename', sa.String(length=200), nullable=False, server_default=''),
    sa.Column('result', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_pdf_exports_user_id'),
    sa.ForeignKeyConstraint(['template_id'], ['templates.id'], name='fk_pdf_exports_template_id'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('pdf_export_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('export_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False, server_default=''),
    sa.Column('filename', sa.String(length=200), nullable=False, server_default=''),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('error', sa.Text(), nullable=False, server_default=''),
    sa.ForeignKeyConstraint(['export_id'], ['pdf_exports.id'],
                            name='fk_pdf_export_items_export_id'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pdf_export_items', schema=None) as batch_op:
        batch_op.create_index('ix_pdf_export_items_export_id', ['export_id'], unique=False)


def downgrade():
    with op.batch_alter_table('pdf_export_items', schema=None) as batch_op:
        batch_op.drop_index('ix_pdf_export_items_export_id')
    op.drop_table('pdf_export_items')
    op.drop_table('pdf_exports')

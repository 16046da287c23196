"""templates: attach_pdf_ids, the PDF templates attached to mail sent with an e-mail template

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 08:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attach_pdf_ids', sa.JSON(), nullable=False,
                                      server_default='[]'))


def downgrade():
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.drop_column('attach_pdf_ids')

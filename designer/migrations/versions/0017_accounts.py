"""accounts: disabled users, session versions, demo-password flag, set-password links,
built-in templates, system mail in the outbox

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# The demo loader's users, created with the password "demo" (designer/demo.py).
DEMO_EMAILS = ('admin@example.com', 'marketer@example.com', 'sabine.krueger@example.com',
               'liam.walsh@example.com')


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('demo_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table('password_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_password_links_user_id',
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                            name='fk_password_links_created_by_id', ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.create_index('ix_password_links_user_id', ['user_id'], unique=False)
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system_key', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint('uq_templates_system_key', ['system_key'])
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system_mail', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    _flag_demo_passwords()


def _flag_demo_passwords():
    """Installations upgraded with the demo users still on "demo" must know it (only the
    demo loader's accounts are checked: a handful of scrypt checks, not every user)."""
    from werkzeug.security import check_password_hash

    bind = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('email', sa.String()),
                     sa.column('password_hash', sa.String()),
                     sa.column('demo_password', sa.Boolean()))
    rows = bind.execute(sa.select(users.c.id, users.c.password_hash)
                        .where(users.c.email.in_(DEMO_EMAILS))).all()
    for user_id, password_hash in rows:
        if password_hash and check_password_hash(password_hash, 'demo'):
            bind.execute(users.update().where(users.c.id == user_id)
                         .values(demo_password=True))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('system_mail')
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.drop_constraint('uq_templates_system_key', type_='unique')
        batch_op.drop_column('system_key')
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.drop_index('ix_password_links_user_id')
    op.drop_table('password_links')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('demo_password')
        batch_op.drop_column('session_version')
        batch_op.drop_column('disabled_at')

"""mail refers to no campaign table: messages and suppressions keep a plain campaign_id

Campaigns use mail, never the other way round, so mail's tables lose their
foreign keys to ``campaigns`` (the ids stay, indexed as before).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

TABLES = ('messages', 'suppressions')
# SQLite keeps no name for a foreign key declared without one (suppressions'): batch mode
# names it by this convention so that it can be dropped.
NAMING = {'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s'}


def _campaign_foreign_key(table):
    """The name of ``table``'s foreign key to campaigns, or None when it has none."""
    for key in sa.inspect(op.get_bind()).get_foreign_keys(table):
        if key['referred_table'] == 'campaigns':
            return key['name'] or f'fk_{table}_campaign_id_campaigns'
    return None


def upgrade():
    for table in TABLES:
        name = _campaign_foreign_key(table)
        if name is None:
            continue
        with op.batch_alter_table(table, schema=None, naming_convention=NAMING) as batch_op:
            batch_op.drop_constraint(name, type_='foreignkey')


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(f'fk_{table}_campaign_id', 'campaigns',
                                        ['campaign_id'], ['id'])

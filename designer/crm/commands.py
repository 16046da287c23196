"""``designer crm …``: the CRM connection from the command line (connect, sync, push).

Each command prints one short line per result on success; a refusal is one
line on stderr with exit status 2, like every other command's.
"""

import click
from flask.cli import AppGroup


@click.group("crm", cls=AppGroup)
def crm_group():
    """The vtiger connection: connect, read changes in (sync), write counts back (push)."""

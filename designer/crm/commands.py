"""``designer crm …``: the CRM connection from the command line (connect, sync, push).

Each command prints one short line per result on success; a refusal is one
line on stderr with exit status 2, like every other command's.
"""

import click
from flask.cli import AppGroup


@click.group("crm", cls=AppGroup)
def crm_group():
    """The vtiger connection: connect, read changes in (sync), write counts back (push)."""


@crm_group.command("push")
def push_command():
    """Write the due counts (opens, last opened, last sent) back to vtiger now."""
    from designer.cli import CommandError
    from designer.crm import connection, writeback
    from designer.crm.client import VtigerError

    try:
        with connection.client() as client:
            result = writeback.push_now(client)
    except connection.NotConnected as exc:
        raise CommandError(str(exc)) from None
    except VtigerError as exc:
        raise CommandError(connection.explain(exc)) from None
    except writeback.WritebackUnavailable as exc:
        raise CommandError(f"vtiger cannot take the counts now: {exc}") from None
    click.echo(result.summary())


@crm_group.command("connect")
@click.argument("url")
@click.option("--user", "user_name", required=True, help="The vtiger user Designer reads as.")
@click.option("--access-key", required=True, help="Its access key (vtiger: My Preferences).")
@click.option(
    "--since",
    default="import",
    show_default=True,
    help="Where reading starts for a new vtiger: 'import' (every record), 'now', or a Unix time.",
)
def connect_command(url, user_name, access_key, since):
    """Test the connection to vtiger, then save it."""
    from designer.cli import CommandError
    from designer.crm import connection

    try:
        connection.parse_start(since)
        saved, tested = connection.save_connection(url, user_name, access_key, since)
    except ValueError as exc:  # ConnectionRefused included
        raise CommandError(str(exc)) from None
    role = "an administrator" if tested.is_admin else "not an administrator"
    click.echo(f"connected to vtiger {tested.version} at {saved.url} as {saved.user_name} ({role})")


@crm_group.command("sync")
@click.option(
    "--module",
    "modules",
    multiple=True,
    type=click.Choice(["Accounts", "Contacts", "Products", "Quotes", "Invoice"]),
    help="Only this vtiger module (repeatable).",
)
def sync_command(modules):
    """Read what changed in vtiger now (one pass, to the end); one line per module."""
    from designer.cli import CommandError
    from designer.crm import connection, inbound
    from designer.crm.client import VtigerError

    try:
        results = inbound.run_pass(modules=modules or None)
    except (connection.NotConnected, inbound.SyncBusy) as exc:
        raise CommandError(str(exc)) from None
    except VtigerError as exc:
        raise CommandError(connection.explain(exc)) from None
    for module, counts in results.items():
        click.echo(counts.line(module))
        for skipped in counts.skipped:
            click.echo(f"  skipped {skipped}", err=True)

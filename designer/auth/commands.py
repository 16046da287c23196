"""``designer user …``: accounts from the command line (add, passwd, list, disable, enable).

New passwords are read twice from the terminal without echo, or as two lines
from standard input when it is not a terminal (scripts). Refusals are one
line on stderr with exit status 2, like every other command's.
"""

import sys

import click
from flask.cli import AppGroup

from designer.auth import accounts
from designer.auth.password_changes import PasswordNotChanged, set_password
from designer.auth.passwords import PasswordRefused
from designer.cli import CommandError
from designer.records.models import ROLES


@click.group("user", cls=AppGroup)
def user_group():
    """User accounts: add, set passwords, list, disable and enable."""


def _user(email):
    user = accounts.find_user(email)
    if user is None:
        raise CommandError(f"no user {email}")
    return user


def read_new_password():
    """The new password, typed twice (or two lines of standard input)."""
    if sys.stdin.isatty():
        return click.prompt(
            "New password", hide_input=True, confirmation_prompt="New password again"
        )
    first, second = (sys.stdin.readline().rstrip("\r\n") for _ in range(2))
    if first != second:
        raise CommandError("the two passwords are not the same")
    return first


def _status(user):
    if not user.is_active:
        return "disabled"
    status = "active" if user.has_password else "invited"
    return f"{status}, demo password" if user.demo_password else status


@user_group.command("add")
@click.argument("email")
@click.option("--name", required=True, help="The person's name, as mail from them shows it.")
@click.option("--role", type=click.Choice(ROLES), default="marketer", show_default=True)
@click.option(
    "--link",
    is_flag=True,
    help="Print a one-time link to choose the password instead of asking for it.",
)
def add_command(email, name, role, link):
    """Create an account; asks for its password, or prints a set-password link."""
    try:
        if link:
            user, url = accounts.add_with_link(email, name, role)
            click.echo(url)
            return
        user = accounts.add_with_password(email, name, role, read_new_password())
    except (accounts.AccountError, PasswordRefused) as exc:
        raise CommandError(f"not added: {exc}") from None
    click.echo(f"{user.email} added ({user.role})")


@user_group.command("passwd")
@click.argument("email")
def passwd_command(email):
    """Set a user's password (asked twice); their sessions end."""
    user = _user(email)
    try:
        set_password(user, read_new_password())
    except PasswordNotChanged as exc:
        raise CommandError(f"password not changed: {exc}") from None
    click.echo(f"password of {user.email} changed; their sessions ended")


@user_group.command("list")
def list_command():
    """Every account: e-mail, name, role and status."""
    for user in accounts.list_users():
        click.echo(f"{user.email}\t{user.name}\t{user.role}\t{_status(user)}")


@user_group.command("disable")
@click.argument("email")
def disable_command(email):
    """Stop a user from logging in; their sessions end and their API tokens stop."""
    try:
        user = accounts.disable(_user(email))
    except accounts.AccountError as exc:
        raise CommandError(str(exc)) from None
    click.echo(f"{user.email} disabled")


@user_group.command("enable")
@click.argument("email")
def enable_command(email):
    """Let a disabled user log in again."""
    user = accounts.enable(_user(email))
    click.echo(f"{user.email} enabled")

"""The ``designer`` command line: a Flask CLI group.

Errors a user can cause (unknown ids, bad arguments, invalid templates) end
with one line on stderr and exit status 2. Every command runs with a private
umask and first makes the instance folder private (``designer.instance``).
"""

import sys
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import FlaskGroup

from designer import create_app


class CommandError(click.ClickException):
    """A user error: printed as one line, exit status 2."""

    exit_code = 2


def _cli_app():
    from designer.instance import make_private

    app = create_app()
    make_private(app.config["INSTANCE_PATH"])
    return app


def _make_group():
    return FlaskGroup(
        create_app=_cli_app,
        add_version_option=False,
        load_dotenv=False,
        help="Designer: campaign e-mail and PDF templates with merge fields for CRMs.",
    )


cli = _make_group()


def main(argv=None):
    """Console-script entry point: run the CLI, one-line errors with exit status 2."""
    from designer.instance import use_private_umask

    use_private_umask()  # before anything is written: the database, Redis' files, logs
    try:
        result = cli.main(args=argv, prog_name="designer", standalone_mode=False)
    except click.ClickException as exc:
        click.echo(f"designer: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("designer: aborted", err=True)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


@contextmanager
def embedded_redis_running():
    """Make sure the embedded Redis answers for the duration of a command."""
    from designer.embedded import EmbeddedRedis

    server = None
    if current_app.config["REDIS_EMBEDDED"]:
        server = EmbeddedRedis(current_app.config["INSTANCE_PATH"])
        server.start()
    try:
        yield
    finally:
        if server is not None:
            server.stop()


def parse_record(ref):
    from designer import records

    try:
        module, record_id = records.parse_record_ref(ref)
        return module, records.get_record(module, record_id)
    except (ValueError, records.RecordNotFound) as exc:
        raise CommandError(str(exc)) from exc


def load_template(template_id):
    from designer import templating

    try:
        template = templating.get_template(template_id)
    except templating.TemplateNotFound as exc:
        raise CommandError(str(exc)) from exc
    if template.current is None:
        raise CommandError(f"template {template_id} has no saved version")
    return template


def sending_user(email):
    """The named user, or the first admin (what CRM users know from workflows)."""
    from designer.extensions import db
    from designer.records import User

    query = db.select(User).order_by(User.id)
    query = query.where(User.email == email) if email else query.where(User.role == "admin")
    user = db.session.scalars(query).first()
    if user is None:
        raise CommandError(f"no user {email}" if email else "no admin user: run `designer demo`")
    return user


def init_app(app):
    """Register the commands on ``app.cli``."""
    from designer.commands import register

    register(app.cli)

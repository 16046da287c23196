"""The commands of the ``designer`` CLI; each parses its arguments and calls one part."""

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from designer.cli import (
    CommandError,
    embedded_redis_running,
    load_template,
    parse_record,
    sending_user,
)


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve_command(host, port):
    """Run the product: web, worker, scheduler and the embedded services."""
    from designer.serve import serve

    serve(current_app._get_current_object(), host, port)


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option(
    "--queues",
    multiple=True,
    metavar="Q1,Q2",
    help="Serve only these queues (comma-separated, or the option repeated); default: all.",
)
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
)
def worker_command(burst, queues, log_level):
    """Run an RQ worker on every queue (periodic, workflows, emails, webhooks, crm_writeback,
    pdf), in that order of priority, or on those --queues names (in the same order)."""
    from designer.broker import queue_names
    from workers.runner import run_worker

    try:
        names = queue_names(queues)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    with embedded_redis_running():
        run_worker(
            current_app._get_current_object(), burst=burst, log_level=log_level, queues=names
        )


@click.command("scheduler")
@with_appcontext
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
)
def scheduler_command(log_level):
    """Run the scheduler that enqueues periodic jobs (lease reaper, retries)."""
    from workers.runner import run_scheduler

    with embedded_redis_running():
        run_scheduler(current_app._get_current_object(), log_level=log_level)


@click.command("demo")
@with_appcontext
def demo_command():
    """Load the demo data set (safe to run again: it adds nothing twice)."""
    from designer.demo import load_demo

    counts = load_demo()
    click.echo(", ".join(f"{count} {name}" for name, count in counts.items()))


@click.group("template", cls=AppGroup)
def template_group():
    """Manage templates."""


@template_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--name", help="Template name (default: from the file name).")
@click.option(
    "--kind",
    type=click.Choice(["email", "pdf"]),
    default="email",
    show_default=True,
    help="For .html files (vtiger ones too): an e-mail or a PDF template.",
)
def import_command(file, name, kind):
    """Import .mjml/.html, a vtiger .xml export / .html / .zip of them, or a .zip bundle;
    prints the new id(s).

    A vtiger import reports on stderr, per template, each token and what it
    became, and each token not converted with its line and why.
    """
    from designer import templating
    from designer.templating.importer import import_path

    try:
        result = import_path(file, name=name, kind=kind)
    except templating.TemplateInvalid as exc:
        raise CommandError(str(exc)) from exc
    if result.reports:
        for report in result.reports:
            for line in report.lines():
                click.echo(line, err=True)
    else:
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
    for template in result.templates:
        click.echo(template.id)


@template_group.command("export")
@click.argument("template_ids", nargs=-1, type=int, required=True)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .zip file to write."
)
def export_command(template_ids, output):
    """Export templates (with their assets) as a .zip bundle for another installation."""
    from designer.templating.bundle import export_bundle

    templates = [load_template(template_id) for template_id in template_ids]
    with open(output, "wb") as handle:
        handle.write(export_bundle(templates))
    click.echo(f"{len(templates)} template(s) written to {output}")


@click.command("render")
@with_appcontext
@click.argument("template_id", type=int)
@click.option("--record", "record_ref", required=True, help="MODULE:ID, e.g. contact:12")
@click.option("--locale", help="Render locale (default: the recipient's language).")
def render_command(template_id, record_ref, locale):
    """Print the complete MIME message TEMPLATE_ID gives for a record."""
    from designer import mail, templating

    template = load_template(template_id)
    module, record = parse_record(record_ref)
    try:
        message = mail.new_message(
            template, module=module, record=record, sender_user=sending_user(None), locale=locale
        )
        built = mail.build_message(message, tracking=False)
    except (mail.NoRecipient, templating.MergeError) as exc:
        raise CommandError(str(exc)) from exc
    click.echo(built.data.decode("utf-8"), nl=False)


@click.command("send")
@with_appcontext
@click.argument("template_id", type=int)
@click.option("--to", "record_ref", required=True, help="MODULE:ID, e.g. contact:12")
@click.option("--as", "as_user", help="Sending user's e-mail (default: the admin).")
def send_command(template_id, record_ref, as_user):
    """Queue TEMPLATE_ID for a record's recipient; prints the message id."""
    from designer import mail

    template = load_template(template_id)
    module, record = parse_record(record_ref)
    user = sending_user(as_user)
    with embedded_redis_running():
        try:
            message = mail.queue_message(template, module=module, record=record, sender_user=user)
        except mail.NoRecipient as exc:
            raise CommandError(str(exc)) from exc
    click.echo(message.id)


@click.command("pdf")
@with_appcontext
@click.argument("template_id", type=int)
@click.option("--record", "record_ref", required=True, help="MODULE:ID, e.g. invoice:42")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .pdf file to write."
)
@click.option("--locale", help="Render locale (default: the recipient's language).")
@click.option("--as", "as_user", help="User named as the sender (default: the admin).")
def pdf_command(template_id, record_ref, output, locale, as_user):
    """Render PDF template TEMPLATE_ID for a record; prints the file and its page count."""
    from designer.pdf.documents import PdfFailed, render_record_pdf
    from designer.pdf.pictures import page_count

    template = load_template(template_id)
    if template.kind != "pdf":
        raise CommandError(f"template {template_id} is not a PDF template")
    module, record = parse_record(record_ref)
    if module != (template.variant_of or template).module:
        raise CommandError(f"template {template_id} is for {template.module} records, not {module}")
    try:
        rendered = render_record_pdf(
            template, module, record, user=sending_user(as_user), locale=locale
        )
        with open(output, "wb") as handle:
            handle.write(rendered.data)
    except (PdfFailed, OSError) as exc:
        raise CommandError(str(exc)) from exc
    pages = page_count(rendered.data)
    click.echo(f"{output} ({pages} page{'s' if pages != 1 else ''})")


@click.group("field", cls=AppGroup)
def field_group():
    """Custom merge fields of organisations and contacts."""


@field_group.command("add")
@click.argument("module", type=click.Choice(["organisation", "contact"]))
@click.argument("name")
@click.option("--label", help="What the field picker shows.")
@click.option(
    "--type",
    "field_type",
    default="string",
    show_default=True,
    type=click.Choice(["string", "number", "date", "money"]),
)
@click.option("--example", default="", help="An example value for the picker.")
def field_add_command(module, name, label, field_type, example):
    """Declare a custom field; templates then use it as MODULE.NAME."""
    from designer import records

    try:
        records.add_custom_field(module, name, label, field_type, example)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    click.echo(f"{module}.{name}")


@template_group.command("thumbnails")
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for the PNGs (default: templates_lib/thumbnails).",
)
def thumbnails_command(output):
    """Render the starters' thumbnails (the library's and the blanks) from the templates."""
    from designer import ROOT
    from designer.templating.starters import starters
    from designer.templating.thumbnails import library_thumbnails

    out_dir = output or ROOT / "templates_lib" / "thumbnails"
    paths = library_thumbnails(out_dir, entries=starters())
    click.echo(f"{len(paths)} thumbnails written")


@click.group("hooks", cls=AppGroup)
def hooks_group():
    """Sources allowed to post events to /hooks/events."""


@hooks_group.command("add-source")
@click.argument("name")
def add_source_command(name):
    """Create a hook source and print its signing secret (shown this once)."""
    from designer import workflows

    try:
        _, secret = workflows.add_source(name)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    click.echo(secret)


@hooks_group.command("list")
def list_sources_command():
    """The hook sources and when each last posted an event."""
    from designer import workflows

    for source in workflows.list_sources():
        last = f"{source.last_event_at:%Y-%m-%d %H:%M} UTC" if source.last_event_at else "never"
        click.echo(f"{source.name}\tlast event: {last}")


@click.command("read-replies")
@with_appcontext
def read_replies_command():
    """Read the linked mailboxes for replies now (the scheduler does it every minute)."""
    from designer import workflows
    from designer.mail import replies

    with embedded_redis_running():
        found = replies.read_all()
        events = workflows.reply_events(found.pop("new"))
    click.echo(
        f"{found['mailboxes']} mailbox(es) read, {found['replies']} new reply(ies), "
        f"{events} workflow event(s), {found['errors']} mailbox(es) not read"
    )
    return 1 if found["errors"] else 0


def register(group):
    from designer.auth.commands import user_group
    from designer.crm.commands import crm_group

    for command in (
        serve_command,
        worker_command,
        scheduler_command,
        demo_command,
        template_group,
        render_command,
        send_command,
        pdf_command,
        field_group,
        hooks_group,
        read_replies_command,
        user_group,
        crm_group,
    ):
        group.add_command(command)

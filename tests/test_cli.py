"""The ``designer`` command line, run as a real process against the test database."""

from email import message_from_string, policy

from rq import Queue
from support import run_designer

from designer.broker import get_redis
from designer.extensions import db
from designer.mail.models import Message
from designer.templating import Template

MJML = (
    "<mjml><mj-head><mj-title>Hi {{ contact.first_name }}</mj-title></mj-head><mj-body>"
    "<mj-section><mj-column><mj-text>Dear {{ contact.first_name }},</mj-text>"
    "</mj-column></mj-section></mj-body></mjml>"
)


def test_template_import_prints_the_new_id(app, people, tmp_path):
    path = tmp_path / "hello.mjml"
    path.write_text(MJML)
    result = run_designer(app, "template", "import", str(path), "--name", "Hello")
    assert result.returncode == 0, result.stderr
    template = db.session.get(Template, int(result.stdout.strip()))
    assert template.name == "Hello" and template.current.subject == "Hi {{ contact.first_name }}"


def test_malformed_mjml_import_is_one_line_exit_2(app, people, tmp_path):
    path = tmp_path / "broken.mjml"
    path.write_text("<mjml>\n<mj-body>\n<mj-include path='/etc/passwd'/>\n</mj-body></mjml>")
    result = run_designer(app, "template", "import", str(path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "line 3" in result.stderr
    assert db.session.scalar(db.select(db.func.count(Template.id))) == 0


def test_render_prints_the_complete_mime_message(app, welcome, people):
    result = run_designer(app, "render", str(welcome.id), "--record", f"contact:{people.jan.id}")
    assert result.returncode == 0, result.stderr
    parsed = message_from_string(result.stdout, policy=policy.default)
    assert parsed["Subject"] == "Welcome, Jan!"
    assert parsed["From"].addresses[0].addr_spec == "ada@example.com"
    assert "Hello Jan of Bakkerij De Vries," in " ".join(
        parsed.get_body(("html",)).get_content().split()
    )
    assert "Hello Jan" in parsed.get_body(("plain",)).get_content()


def test_render_with_locale(app, people):
    from designer.templating import create_template

    template = create_template(
        "Fmt",
        "<mjml><mj-body><mj-section><mj-column><mj-text>"
        "{{ 1234.5 | money('EUR') }}</mj-text></mj-column></mj-section>"
        "</mj-body></mjml>",
    )
    ref = f"contact:{people.jan.id}"
    dutch = run_designer(app, "render", str(template.id), "--record", ref)
    english = run_designer(app, "render", str(template.id), "--record", ref, "--locale", "en")
    assert (
        "1.234,50"
        in message_from_string(dutch.stdout, policy=policy.default)
        .get_body(("plain",))
        .get_content()
    )
    assert (
        "1,234.50"
        in message_from_string(english.stdout, policy=policy.default)
        .get_body(("plain",))
        .get_content()
    )


def test_send_queues_a_message_and_prints_its_id(app, welcome, people):
    result = run_designer(app, "send", str(welcome.id), "--to", f"contact:{people.emma.id}")
    assert result.returncode == 0, result.stderr
    message = db.session.get(Message, int(result.stdout.strip()))
    assert message.state == "queued" and message.recipient_email == "emma@devries.example"
    assert message.sender_id == people.admin.id and message.locale == "en"
    jobs = Queue("emails", connection=get_redis()).jobs
    assert [job.args for job in jobs] == [([message.id],)]


def test_unknown_ids_and_bad_arguments_exit_2_with_one_line(app, welcome, people):
    cases = [
        ("render", "999", "--record", f"contact:{people.jan.id}"),
        ("render", str(welcome.id), "--record", "contact:999"),
        ("render", str(welcome.id), "--record", "pony:1"),
        ("send", str(welcome.id), "--to", "contact"),
        ("send", str(welcome.id)),
        ("render", "abc", "--record", "contact:1"),
        ("template", "import", "/no/such/file.mjml"),
    ]
    for args in cases:
        result = run_designer(app, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith("designer: error: "), (args, result.stderr)
        assert result.stderr.count("\n") == 1, (args, result.stderr)


def test_render_an_invoice_goes_to_its_contact(app, demo):
    from designer.records import Document
    from designer.templating import create_template

    invoice = db.session.scalars(db.select(Document).where(Document.kind == "invoice")).first()
    template = create_template(
        "Invoice mail",
        "<mjml><mj-body><mj-section><mj-column><mj-text>Invoice "
        "{{ invoice.number }}: {{ invoice.total | money(invoice.currency) }}</mj-text>"
        "</mj-column></mj-section></mj-body></mjml>",
        module="invoice",
    )
    result = run_designer(app, "render", str(template.id), "--record", f"invoice:{invoice.id}")
    assert result.returncode == 0, result.stderr
    parsed = message_from_string(result.stdout, policy=policy.default)
    assert parsed["To"].addresses[0].addr_spec == invoice.contact.email
    assert f"Invoice {invoice.number}" in parsed.get_body(("plain",)).get_content()
    wrong_kind = run_designer(app, "render", str(template.id), "--record", f"quote:{invoice.id}")
    assert wrong_kind.returncode == 2 and "no quote with id" in wrong_kind.stderr


def test_import_vtiger_export_reports_unmapped_variables(app, people):
    from pathlib import Path

    export = Path(__file__).parent / "fixtures" / "vtiger" / "emailmaker-export.xml"
    result = run_designer(app, "template", "import", str(export))
    assert result.returncode == 0, result.stderr
    ids = [int(line) for line in result.stdout.split()]
    assert len(ids) == 2
    assert all(db.session.get(Template, i) is not None for i in ids)


def test_export_and_import_a_bundle(app, welcome, tmp_path):
    bundle = tmp_path / "welcome.zip"
    exported = run_designer(app, "template", "export", str(welcome.id), "-o", str(bundle))
    assert exported.returncode == 0, exported.stderr
    imported = run_designer(app, "template", "import", str(bundle))
    assert imported.returncode == 0, imported.stderr
    copy = db.session.get(Template, int(imported.stdout.strip()))
    assert copy.current.source == welcome.current.source and copy.id != welcome.id


def test_import_pdf_kind(app, people, tmp_path):
    path = tmp_path / "letter.html"
    path.write_text("<html><body><p>Dear {{ contact.first_name }}</p></body></html>")
    result = run_designer(app, "template", "import", str(path), "--kind", "pdf")
    assert result.returncode == 0, result.stderr
    template = db.session.get(Template, int(result.stdout.strip()))
    assert template.kind == "pdf" and template.source_type == "html"


def test_custom_fields_reach_the_catalogue_and_templates(app, people):
    from designer.templating import create_template
    from designer.templating.catalogue import catalogue
    from designer.templating.preview import preview_html

    result = run_designer(
        app, "field", "add", "contact", "shoe_size", "--label", "Shoe size", "--type", "number"
    )
    assert result.returncode == 0, result.stderr
    assert "contact.shoe_size" in {field.name for field in catalogue("contact")}
    again = run_designer(app, "field", "add", "contact", "shoe_size")
    assert again.returncode == 2 and "already has" in again.stderr
    bad = run_designer(app, "field", "add", "contact", "Bad-Name")
    assert bad.returncode == 2
    people.jan.custom = {"shoe_size": 44}
    db.session.commit()
    template = create_template(
        "Shoes",
        "<mjml><mj-body><mj-section><mj-column><mj-text>"
        "Size {{ contact.shoe_size }}</mj-text></mj-column></mj-section>"
        "</mj-body></mjml>",
    )
    html = preview_html(template, people.jan, people.admin).html
    assert "Size 44" in " ".join(html.split())

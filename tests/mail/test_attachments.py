"""PDF templates attached to mail: rendered for the same record, in the mail's locale."""

import subprocess

import pytest
from support import csrf_token, log_in

from designer import mail
from designer.extensions import db
from designer.mail.models import Message
from designer.pdf.filenames import pdf_filename
from designer.records.models import Document, User
from designer.templating import Template
from designer.templating.attachments import AttachmentInvalid, set_attachments


def template_named(name):
    return db.session.scalar(db.select(Template).where(Template.name == name))


@pytest.fixture
def reminder(demo):
    """The demo's invoice reminder with the invoice PDF attached."""
    template = template_named("Invoice reminder")
    set_attachments(template, [template_named("Invoice (PDF)").id])
    return template


def pdf_text(data):
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def send_reminder(template, invoice):
    admin = db.session.scalar(db.select(User).where(User.role == "admin"))
    message = mail.queue_message(
        template.current, module="invoice", record=invoice, sender_user=admin, enqueue=False
    )
    outcome = mail.deliver_batch([message.id])
    db.session.refresh(message)
    return outcome, message


def test_the_invoice_pdf_rides_along(smtp_app, smtp_server, reminder):
    invoice = db.session.scalar(
        db.select(Document)
        .where(Document.kind == "invoice", Document.contact_id.is_not(None))
        .order_by(Document.id)
    )
    outcome, message = send_reminder(reminder, invoice)
    assert outcome["sent"] == 1, message.last_error
    [received] = smtp_server.handler.messages()
    [attachment] = list(received.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == pdf_filename("Invoice (PDF)", "invoice", invoice)
    assert attachment.get_filename().startswith("Invoice-")
    text = pdf_text(attachment.get_content())
    assert invoice.number in text and invoice.organisation.name in text
    assert "Page 1 of" in text


def test_only_pdf_templates_of_the_same_module_can_be_attached(demo):
    reminder = template_named("Invoice reminder")
    with pytest.raises(AttachmentInvalid, match="same record"):
        set_attachments(reminder, [template_named("Quotation (PDF)").id])
    with pytest.raises(AttachmentInvalid, match="no PDF template"):
        set_attachments(reminder, [reminder.id])
    with pytest.raises(AttachmentInvalid, match="not a template id"):
        set_attachments(reminder, ["x"])
    assert reminder.attach_pdf_ids == []


def test_a_broken_pdf_fails_the_message_with_the_reason(smtp_app, smtp_server, reminder):
    from designer.templating import add_version

    pdf = template_named("Invoice (PDF)")
    add_version(pdf, "<p>{{ document.number }}{% for x in 1 %}{% endfor %}</p>")
    invoice = db.session.scalar(db.select(Document).where(Document.kind == "invoice"))
    outcome, message = send_reminder(reminder, invoice)
    assert outcome["failed"] == 1 and message.state == "failed"
    assert "cannot render the attached PDF" in message.last_error
    assert smtp_server.handler.messages() == []


def test_attachments_page_and_api(app, client, demo):
    reminder = template_named("Invoice reminder")
    invoice_pdf = template_named("Invoice (PDF)")
    admin = log_in(client)
    page = admin.get(f"/templates/{reminder.id}/attachments")
    assert page.status_code == 200 and "Invoice (PDF)" in page.text
    assert "Quotation (PDF)" not in page.text  # another module
    token = csrf_token(admin, f"/templates/{reminder.id}/attachments")
    saved = admin.post(
        f"/templates/{reminder.id}/attachments",
        data={"pdf": str(invoice_pdf.id), "csrf_token": token},
    )
    assert saved.status_code == 302
    body = admin.get(f"/api/v1/templates/{reminder.id}/attachments").get_json()
    assert body["pdf_templates"] == [{"id": invoice_pdf.id, "name": "Invoice (PDF)"}]
    bad = admin.put(
        f"/api/v1/templates/{reminder.id}/attachments",
        json={"pdf_template_ids": [template_named("Quotation (PDF)").id]},
        headers={"X-CSRFToken": token},
    )
    assert bad.status_code == 422
    assert list(bad.get_json()["error"]["details"]["fields"]) == ["pdf_template_ids"]
    cleared = admin.put(
        f"/api/v1/templates/{reminder.id}/attachments",
        json={"pdf_template_ids": []},
        headers={"X-CSRFToken": token},
    )
    assert cleared.get_json() == {"template": reminder.id, "pdf_templates": []}
    assert db.session.scalar(db.select(Message.id)) is None

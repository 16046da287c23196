"""The issue's proof: a signed invoice.created for a Dutch contact, with an English admin,
sends Dutch formats with the invoice PDF over SMTP; the same event again sends nothing;
a date-based rule fires at its time on a controllable clock."""

import subprocess
import time
from datetime import datetime

from workflow_support import dutch_invoice_event, template_named

from designer import workflows
from designer.extensions import db
from designer.mail.models import Message
from designer.records.models import Document, User
from designer.workflows.models import WorkflowRun


def pdf_text(data):
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def test_signed_invoice_event_mails_dutch_formats_with_the_pdf_once(
    smtp_app, smtp_server, invoice_rule, post_event, run_worker_burst
):
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    assert admin.language == "en"  # the trap: the admin is English

    answer = post_event(dutch_invoice_event())
    assert answer.status_code == 202, answer.text
    assert answer.json["status"] == "accepted"
    run_worker_burst()

    [mail] = smtp_server.handler.messages()
    assert mail["From"].addresses[0].addr_spec == "admin@example.com"
    assert mail["To"].addresses[0].addr_spec == "sanne@hendriks.example"
    assert "2026-0042" in mail["Subject"] and "4-12-2026" in mail["Subject"]
    html = " ".join(mail.get_body(("html",)).get_content().split())
    assert "Hello Sanne," in html
    assert "€ 1.230,66" in html  # 1000 + 21 % + 2 x 10.33, Dutch money
    assert "4-12-2026" in html and "12/4/2026" not in html
    [pdf] = [part for part in mail.iter_attachments()]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "Invoice-2026-0042.pdf"
    text = pdf_text(pdf.get_content())
    assert "2026-0042" in text and "Kaasboerderij Hendriks" in text
    assert "1.230,66" in text

    again = post_event(dutch_invoice_event(), timestamp=int(time.time()) + 1)  # a redelivery
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    run_worker_burst()
    assert len(smtp_server.handler.messages()) == 1
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 1
    [run] = workflows.get_workflow(invoice_rule.id).runs
    assert run.outcome == "sent" and run.message_ids == [mail_id()]


def mail_id():
    return db.session.scalar(db.select(Message.id))


def test_a_date_rule_fires_at_nine_in_the_recipients_time_zone(
    smtp_app, smtp_server, demo, post_event, run_worker_burst
):
    workflows.save_workflow(
        {
            "name": "Three days before the due date",
            "enabled": True,
            "module": "invoice",
            "trigger": {
                "type": "date",
                "field": "due_date",
                "when": "before",
                "days": 3,
                "time": "09:00",
            },
            "actions": [{"template_id": template_named("Invoice reminder").id}],
        }
    )
    assert post_event(dutch_invoice_event(due="2026-12-04")).status_code == 202
    run_worker_burst()  # the event itself triggers nothing: the rule waits for its date
    assert smtp_server.handler.messages() == []

    # 1 December 09:00 in Amsterdam is 08:00 UTC.
    assert workflows.run_due_schedules(now=datetime(2026, 12, 1, 7, 59)) == 0
    assert workflows.run_due_schedules(now=datetime(2026, 12, 1, 8, 0)) == 1
    assert workflows.run_due_schedules(now=datetime(2026, 12, 1, 8, 1)) == 0  # once
    run_worker_burst()
    [mail] = smtp_server.handler.messages()
    assert mail["To"].addresses[0].addr_spec == "sanne@hendriks.example"
    assert "4-12-2026" in mail["Subject"]

    invoice = db.session.scalar(db.select(Document).where(Document.number == "2026-0042"))
    invoice.due_date = invoice.due_date.replace(day=14)  # moved: fires again for the new date
    db.session.commit()
    assert workflows.run_due_schedules(now=datetime(2026, 12, 11, 8, 0)) == 1
    last = db.session.scalars(db.select(WorkflowRun).order_by(WorkflowRun.id.desc())).first()
    assert last.outcome == "sent" and last.fire_key.endswith(":due_date:2026-12-14")
    run_worker_burst()
    assert len(smtp_server.handler.messages()) == 2

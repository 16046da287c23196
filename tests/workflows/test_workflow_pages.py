"""The workflow pages: build a rule in the browser's form, test it against a record, read
its run log; hook sources with secrets shown once. Administrators only."""

import re

from support import csrf_token
from workflow_support import template_named

from designer import workflows
from designer.extensions import db
from designer.mail.models import Message
from designer.records.models import Document
from designer.workflows.models import HookSource, Workflow


def editor_form(token, **changes):
    form = {
        "csrf_token": token,
        "name": "Invoice mail",
        "module": "invoice",
        "enabled": "on",
        "trigger_type": "field_changed",
        "trigger_field": "status",
        "trigger_value": "sent",
        "match": "all",
        "cond-0-field": "organisation.country",
        "cond-0-op": "eq",
        "cond-0-value": "Netherlands",
        "cond-1-field": "",
        "cond-1-op": "eq",
        "cond-1-value": "",
        "action-0-template_id": str(template_named("Invoice reminder").id),
        "action-0-to": "record",
        "action-0-sender": "admin",
        "action-0-locale": "recipient",
        "action-0-attach_pdf_ids": str(template_named("Invoice (PDF)").id),
        "action-0-delay_minutes": "0",
        "action-1-template_id": "",
        "repeat_mode": "once_per_days",
        "repeat_days": "30",
    }
    form.update(changes)
    return form


def test_a_new_workflow_starts_switched_off(admin_client):
    page = admin_client.get("/workflows/new?module=invoice")
    box = re.search(r'<input type="checkbox" name="enabled" id="enabled"[^>]*>', page.text)
    assert box and "checked" not in box.group(0)
    form = editor_form(csrf_token(admin_client, "/workflows"))
    del form["enabled"]  # an unticked box is not sent
    assert admin_client.post("/workflows/new", data=form).status_code == 302
    workflow = db.session.scalar(db.select(Workflow))
    assert workflow.enabled is False


def test_build_a_rule_in_the_editor_and_test_it_against_a_record(admin_client):
    assert "Invoices" in admin_client.get("/workflows/new").text
    page = admin_client.get("/workflows/new?module=invoice")
    assert page.status_code == 200 and "recipient&#39;s language and formats" in page.text
    saved = admin_client.post(
        "/workflows/new", data=editor_form(csrf_token(admin_client, "/workflows"))
    )
    assert saved.status_code == 302
    workflow = db.session.scalar(db.select(Workflow))
    assert workflow.trigger == {"type": "field_changed", "field": "status", "value": "sent"}
    assert workflow.conditions["items"] == [
        {"field": "organisation.country", "op": "eq", "value": "Netherlands"}
    ]
    assert workflow.actions[0]["attach_pdf_ids"] == [template_named("Invoice (PDF)").id]
    assert workflow.repeat == {"mode": "once_per_days", "days": 30}

    invoice = db.session.scalar(
        db.select(Document)
        .where(Document.kind == "invoice", Document.contact_id.is_not(None))
        .order_by(Document.id)
    )
    tested = admin_client.get(f"/workflows/{workflow.id}/test?record={invoice.id}")
    assert tested.status_code == 200
    text = " ".join(tested.text.split())
    assert invoice.contact.email in text and "Ada Admin &lt;admin@example.com&gt;" in text
    assert "the recipient&#39;s language" in text and "1 PDF" in text
    assert invoice.number in text  # the merged subject
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0


def test_a_bad_rule_keeps_the_form_and_names_the_field(admin_client):
    token = csrf_token(admin_client, "/workflows")
    answer = admin_client.post(
        "/workflows/new", data=editor_form(token, **{"cond-0-value": "", "name": "Keep me"})
    )
    assert answer.status_code == 400
    assert "Condition 1, value" in answer.text and 'value="Keep me"' in answer.text
    assert db.session.scalar(db.select(db.func.count(Workflow.id))) == 0


def test_the_run_log_links_the_messages(admin_client, demo):
    workflows.save_workflow(
        {
            "name": "Welcome",
            "enabled": True,
            "module": "contact",
            "actions": [{"template_id": template_named("Welcome").id}],
        }
    )
    workflows.save_record("contact", {"id": "X1", "first_name": "Joke", "email": "joke@example.nl"})
    event = db.session.scalars(db.select(workflows.Event)).one()
    [run] = workflows.process_event(event.id)
    page = admin_client.get(f"/workflows/{run.workflow_id}/runs").text
    assert "contact.created" in page and f"/messages/{run.message_ids[0]}" in page
    assert "joke@example.nl" in page


def test_the_run_log_shows_fifty_runs_at_a_time(admin_client, demo):
    from designer.workflows.models import WorkflowRun

    workflow = workflows.Workflow(name="Busy", module="contact")
    db.session.add(workflow)
    db.session.flush()
    db.session.add_all(
        WorkflowRun(
            workflow_id=workflow.id,
            cause="manual",
            module="contact",
            record_id=n,
            outcome="nothing",
        )
        for n in range(1, 56)
    )
    db.session.commit()
    first = admin_client.get(f"/workflows/{workflow.id}/runs").text
    assert "contact #55<" in first and "contact #6<" in first and "contact #5<" not in first
    older = re.search(r'href="([^"]+\?before=\d+)">Older runs', first).group(1)
    second = admin_client.get(older).text
    assert "contact #5<" in second and "contact #1<" in second and "contact #6<" not in second


def test_hook_sources_page_shows_a_secret_once(admin_client):
    token = csrf_token(admin_client, "/settings/hooks")
    page = admin_client.post("/settings/hooks", data={"csrf_token": token, "name": "vtiger"})
    secret = re.search(r'id="new-secret">(whsec_[^<]+)<', page.text).group(1)
    source = db.session.scalar(db.select(HookSource))
    assert secret not in source.secret_encrypted
    assert secret not in admin_client.get("/settings/hooks").text
    bad = admin_client.post("/settings/hooks", data={"csrf_token": token, "name": "Bad Name!"})
    assert bad.status_code == 400 and "Not added" in bad.text


def test_workflow_pages_are_for_administrators(marketer_client, client, demo):
    for path in ("/workflows", "/workflows/new?module=contact", "/settings/hooks"):
        assert marketer_client.get(path).status_code == 403
        assert client.get(path).status_code == 302  # to the login page
    token = csrf_token(marketer_client, "/templates")
    assert (
        marketer_client.post("/settings/hooks", data={"csrf_token": token, "name": "x"}).status_code
        == 403
    )


def test_forms_without_csrf_token_are_refused(admin_client):
    assert admin_client.post("/settings/hooks", data={"name": "x"}).status_code == 400
    assert admin_client.post("/workflows/new", data=editor_form("")).status_code == 400
    assert db.session.scalar(db.select(db.func.count(Workflow.id))) == 0
    assert db.session.scalar(db.select(db.func.count(HookSource.id))) == 0

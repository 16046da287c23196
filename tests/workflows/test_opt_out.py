"""Consent in workflows and the CRM's intake: a workflow's marketing mail to a suppressed
contact is held back and the run and the editor say why; ``email_opt_out`` posted to the
hooks or the API suppresses the address, and clearing it lifts only that suppression."""

import pytest
from workflow_support import template_named, welcome_workflow

from designer import mail, templating, workflows
from designer.crm import inbound
from designer.extensions import db
from designer.mail import consent
from designer.mail.models import Message, Suppression
from designer.records.models import Contact
from designer.workflows.models import Event, WorkflowRun


def contact_event(event_id, external_id, email, **fields):
    return {
        "id": event_id,
        "type": "contact.created",
        "record": {"id": external_id, "first_name": "Pat", "email": email, **fields},
    }


def reason_of(email):
    found = consent.suppression_of(email)
    return found[0] if found else None


def contact_by(external_id):
    return db.session.scalar(db.select(Contact).where(Contact.external_id == external_id))


def process(answer):
    assert answer.status_code == 202, answer.text
    return workflows.process_event(answer.json["event"])


@pytest.fixture
def welcome_rule(demo):
    """On contact.created: the (marketing) Welcome template to the new contact."""
    return welcome_workflow("created")


def test_a_workflow_mail_to_an_unsubscribed_contact_is_held_back_and_the_run_says_why(
    smtp_app, smtp_server, welcome_rule, post_event, admin_client
):
    mail.suppress("pat@example.org", "unsubscribed")
    [run] = process(post_event(contact_event("e1", "C-1", "pat@example.org")))
    assert run.outcome == "held_back"
    [message] = db.session.scalars(db.select(Message)).all()
    since = consent.suppression_of("pat@example.org")[1]
    reason = f"held back: unsubscribed on {since.day} {since:%b %Y}"
    assert message.state == "suppressed" and message.last_error == reason
    [entry] = run.actions
    assert entry["held_back"] == 1 and entry["sent"][0]["held_back"] == reason
    assert mail.dispatch_due() == 0 and smtp_server.handler.messages() == []

    page = admin_client.get(f"/workflows/{welcome_rule.id}/runs").get_data(as_text=True)
    assert "held back" in page and reason in page

    [other] = process(post_event(contact_event("e2", "C-2", "sam@example.org")))
    assert other.outcome == "sent"
    mail.deliver_batch(other.message_ids)
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.handler.messages()] == [
        "sam@example.org"
    ]


def test_a_transactional_workflow_mail_goes_to_an_opted_out_contact_not_to_a_bounced_one(
    smtp_app, smtp_server, welcome_rule, post_event
):
    templating.set_purpose(template_named("Welcome"), "transactional")
    mail.suppress("gone@example.org", "bounced")
    [run] = process(post_event(contact_event("e1", "C-1", "pat@example.org", email_opt_out=True)))
    assert reason_of("pat@example.org") == "crm_opt_out"
    assert run.outcome == "sent"
    [bounced] = process(post_event(contact_event("e2", "C-2", "gone@example.org")))
    assert bounced.outcome == "held_back"
    mail.deliver_batch(run.message_ids + bounced.message_ids)
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.handler.messages()] == [
        "pat@example.org"
    ]


def test_the_workflow_editor_s_test_says_who_is_suppressed_and_why(
    admin_client, welcome_rule, post_event
):
    process(post_event(contact_event("e1", "C-1", "pat@example.org")))
    contact = contact_by("C-1")
    page = admin_client.get(f"/workflows/{welcome_rule.id}/test?record={contact.id}")
    assert "would not be sent" not in page.get_data(as_text=True)
    mail.suppress("pat@example.org", "unsubscribed")
    tested = workflows.test_workflow(welcome_rule, "contact", contact)
    assert tested["actions"][0]["messages"][0]["held_back"].startswith(
        "held back: unsubscribed on "
    )
    page = admin_client.get(f"/workflows/{welcome_rule.id}/test?record={contact.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Held back: unsubscribed on" in text and "this mail would not be sent" in text


def test_the_hooks_opt_out_suppresses_and_clearing_it_lifts_only_the_crm_s(
    demo, post_event, admin_client
):
    process(post_event(contact_event("e1", "C-1", "pat@example.org", email_opt_out=True)))
    assert reason_of("pat@example.org") == "crm_opt_out"
    contact = contact_by("C-1")
    assert "email_opt_out" not in (contact.custom or {})  # not a record field
    page = admin_client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Opted out in the CRM" in page

    update = {"id": "e2", "type": "contact.updated", "record": {"id": "C-1"}}
    post_event({**update, "record": {"id": "C-1", "email_opt_out": "0"}})
    assert workflows.process_events() == 1
    assert reason_of("pat@example.org") is None

    mail.suppress("pat@example.org", "unsubscribed")  # the person's own choice
    post_event({**update, "id": "e3", "record": {"id": "C-1", "email_opt_out": True}})
    post_event({**update, "id": "e4", "record": {"id": "C-1", "email_opt_out": False}})
    assert workflows.process_events() == 2
    assert reason_of("pat@example.org") == "unsubscribed"

    mail.suppress("sam@example.org", "bounced")
    post_event(contact_event("e5", "C-2", "sam@example.org", email_opt_out="no"))
    assert reason_of("sam@example.org") == "bounced"


def test_a_bad_opt_out_value_in_a_hook_is_refused_and_stores_nothing(demo, post_event):
    for value in ("maybe", [], {"a": 1}, 2):
        answer = post_event(
            contact_event(f"e-{value}", "C-1", "pat@example.org", email_opt_out=value)
        )
        assert answer.status_code == 422, value
        error = answer.get_json()["error"]
        assert error["details"]["field"] == "record.email_opt_out"
        assert "true or false" in error["message"]
    assert contact_by("C-1") is None
    assert db.session.scalar(db.select(db.func.count(Event.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Suppression.id))) == 0


def test_the_api_opt_out_suppresses_and_clearing_it_lifts_it(admin_api, admin_client):
    path = "/api/v1/records/contact"
    answer = admin_api.put(
        path, json={"id": "C-9", "email": "kim@example.org", "email_opt_out": True}
    )
    assert answer.status_code == 201, answer.text
    assert reason_of("kim@example.org") == "crm_opt_out"
    assert "email_opt_out" not in answer.get_json()["data"]["contact"]
    bad = admin_api.put(path, json={"id": "C-9", "email_opt_out": "sometimes"})
    assert bad.status_code == 422
    assert "email_opt_out" in bad.get_json()["error"]["details"]["fields"]
    assert reason_of("kim@example.org") == "crm_opt_out"
    answer = admin_api.put(path, json={"id": "C-9", "email_opt_out": False})
    assert answer.status_code == 200 and reason_of("kim@example.org") is None
    organisation = {"id": "O-9", "name": "Kim BV", "email": "info@kim.example"}
    admin_api.put("/api/v1/records/organisation", json={**organisation, "email_opt_out": 1})
    assert reason_of("info@kim.example") == "crm_opt_out"


def test_the_vtiger_sync_uses_the_same_opt_out_rule(app):
    mail.suppress("left@example.org", "unsubscribed")
    inbound.suppress_opt_outs(
        "Contacts",
        [
            {"id": "12x1", "email": "Opted@Example.org", "emailoptout": "1"},
            {"id": "12x2", "email": "left@example.org", "emailoptout": "0"},
        ],
    )
    assert reason_of("opted@example.org") == "crm_opt_out"
    assert reason_of("left@example.org") == "unsubscribed"
    inbound.suppress_opt_outs("Contacts", [{"id": "12x1", "email": "opted@example.org"}])
    assert reason_of("opted@example.org") is None
    assert db.session.scalar(db.select(db.func.count(WorkflowRun.id))) == 0

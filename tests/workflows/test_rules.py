"""Rules: triggers, conditions, recipients, senders, locales, delays, repeat protection,
the run log and the dry run — each against the real ledger and queue."""

from datetime import timedelta

import pytest
from workflow_support import template_named

from designer import settings, workflows
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.mail.sender import set_sending_policy
from designer.records.models import User
from designer.workflows import InvalidWorkflow


def rule(**changes):
    values = {
        "name": "Rule",
        "enabled": True,
        "module": "contact",
        "trigger": {"type": "created"},
        "actions": [{"template_id": template_named("Welcome").id}],
    }
    values.update(changes)
    return workflows.save_workflow(values)


def new_contact(ident="C1", **fields):
    data = {
        "id": ident,
        "first_name": "Sanne",
        "email": f"{ident.lower()}@example.nl",
        "language": "nl",
        "organisation": {
            "id": "O1",
            "name": "Hendriks BV",
            "language": "nl",
            "owner": "marketer@example.com",
        },
    }
    data.update(fields)
    record, _ = workflows.save_record("contact", data)
    return record


def process_all():
    from designer.workflows.models import Event

    runs = []
    for event in db.session.scalars(
        db.select(Event).where(Event.state == "pending").order_by(Event.id)
    ).all():
        runs.extend(workflows.process_event(event.id))
    return runs


def messages():
    return db.session.scalars(db.select(Message).order_by(Message.id)).all()


def test_created_trigger_sends_to_the_record_as_admin_in_the_recipients_locale(demo):
    rule()
    new_contact()
    [run] = process_all()
    assert run.outcome == "sent"
    [message] = messages()
    assert message.recipient_email == "c1@example.nl"
    assert message.from_address == "Ada Admin <admin@example.com>"
    assert message.locale == "nl"
    assert message.dedupe_key.startswith(f"wf{run.workflow_id}:event:")


def test_field_changed_to_a_value(demo):
    rule(trigger={"type": "field_changed", "field": "language", "value": "de"})
    contact = new_contact()
    assert process_all() == []
    workflows.save_record("contact", {"id": "C1", "language": "en"})
    assert process_all() == []
    workflows.save_record("contact", {"id": "C1", "language": "de"})
    [run] = process_all()
    assert run.outcome == "sent" and messages()[0].record_id == contact.id


def test_conditions_all_and_any_with_related_records(demo):
    conditions = {
        "match": "all",
        "items": [
            {"field": "organisation.name", "op": "contains", "value": "hendriks"},
            {"field": "contact.language", "op": "eq", "value": "en"},
        ],
    }
    workflow = rule(conditions=conditions)
    new_contact()
    [run] = process_all()
    assert run.outcome == "no_match" and messages() == []
    assert [(c["label"], c["result"]) for c in run.conditions] == [
        ("organisation.name contains hendriks", True),
        ("contact.language is en", False),
    ]
    workflow.conditions = {**conditions, "match": "any"}
    db.session.commit()
    new_contact("C2")
    [run] = process_all()
    assert run.outcome == "sent"


def test_repeat_protection_once_and_every(demo):
    once = rule(name="Once", trigger={"type": "saved"}, repeat={"mode": "once"})
    every = rule(name="Every", trigger={"type": "saved"}, repeat={"mode": "every"})
    new_contact()
    process_all()
    workflows.save_record("contact", {"id": "C1", "first_name": "Sanneke"})
    runs = {run.workflow_id: run for run in process_all()}
    assert runs[once.id].outcome == "repeat"
    assert "once per record" in runs[once.id].actions[0]["note"]
    assert runs[every.id].outcome == "sent"
    assert len(messages()) == 3


def test_once_per_days_lets_it_run_again_after_the_period(demo):
    workflow = rule(trigger={"type": "saved"}, repeat={"mode": "once_per_days", "days": 7})
    new_contact()
    [first] = process_all()
    workflows.save_record("contact", {"id": "C1", "first_name": "Sanneke"})
    assert process_all()[0].outcome == "repeat"
    first.created_at = utcnow() - timedelta(days=8)
    db.session.commit()
    workflows.save_record("contact", {"id": "C1", "first_name": "Sanne"})
    assert process_all()[0].outcome == "sent"
    assert workflow.repeat == {"mode": "once_per_days", "days": 7}


def test_recipients_owner_related_contacts_and_fixed_addresses(demo):
    welcome = template_named("Welcome").id
    rule(
        actions=[
            {"template_id": welcome, "to": "owner"},
            {"template_id": welcome, "to": "related_contacts"},
            {
                "template_id": welcome,
                "to": "fixed",
                "addresses": "sales@acme.example, Boss@Acme.example",
            },
        ]
    )
    new_contact("C1")
    process_all()
    new_contact("C2")
    [run] = process_all()
    sent = [(m.recipient_email, m.locale) for m in messages() if m.id in run.message_ids]
    assert sent == [
        ("marketer@example.com", "nl"),  # the organisation's owner, Dutch
        ("c1@example.nl", "nl"),
        ("c2@example.nl", "nl"),
        ("sales@acme.example", "en"),
        ("boss@acme.example", "en"),
    ]


def test_senders_owner_named_user_and_system_honour_the_from_policy(demo):
    sabine = db.session.scalar(db.select(User).where(User.email.like("sabine%")))
    welcome = template_named("Welcome").id
    rule(
        actions=[
            {"template_id": welcome, "sender": "owner"},
            {
                "template_id": welcome,
                "sender": "user",
                "sender_user_id": sabine.id,
                "to": "fixed",
                "addresses": ["a@example.org"],
            },
            {
                "template_id": welcome,
                "sender": "system",
                "to": "fixed",
                "addresses": ["b@example.org"],
            },
        ]
    )
    set_sending_policy(central_from="crm@acme.example")
    new_contact()
    process_all()
    assert [m.from_address for m in messages()] == [
        "Mark Marketer <crm@acme.example>",
        "Sabine Krüger <crm@acme.example>",
        f"{settings.company()['name'] or 'Designer'} <crm@acme.example>",
    ]
    assert messages()[2].sender_id is None


def test_system_sender_without_any_address_is_a_logged_error(demo):
    settings.set_company({"email": ""})
    rule(actions=[{"template_id": template_named("Welcome").id, "sender": "system"}])
    new_contact()
    [run] = process_all()
    assert run.outcome == "nothing" and messages() == []
    assert "central address" in run.actions[0]["error"]


def test_locale_template_or_sender_instead_of_the_recipients(demo):
    welcome = template_named("Welcome")
    rule(
        actions=[
            {"template_id": welcome.id, "locale": "template"},
            {
                "template_id": welcome.id,
                "locale": "sender",
                "to": "fixed",
                "addresses": ["x@example.org"],
            },
        ]
    )
    new_contact()
    process_all()
    assert [m.locale for m in messages()] == [welcome.language, "en"]  # Ada Admin: English


def test_a_delayed_action_waits_in_rq_scheduler_and_the_ledger(app, demo):
    from rq.registry import ScheduledJobRegistry

    from designer.broker import EMAILS, get_queue

    def email_queue():
        return get_queue(EMAILS)

    rule(actions=[{"template_id": template_named("Welcome").id, "delay_minutes": 90}])
    new_contact()
    process_all()
    [message] = messages()
    assert message.state == "queued"
    wait = message.next_attempt_at - utcnow()
    assert timedelta(minutes=89) < wait <= timedelta(minutes=90)
    registry = ScheduledJobRegistry(queue=email_queue())
    [job_id] = registry.get_job_ids()
    job = email_queue().fetch_job(job_id)
    assert job.args == ([message.id],)
    assert email_queue().count == 0  # not queued before its time


def test_the_run_log_and_the_dry_run(demo):
    workflow = rule(
        conditions={"items": [{"field": "contact.language", "op": "eq", "value": "nl"}]}
    )
    contact = new_contact()
    [run] = process_all()
    entry = run.actions[0]
    assert entry["messages"] == run.message_ids
    assert entry["sent"][0]["to"] == contact.email
    assert entry["sent"][0]["locale_reason"] == "the recipient's language"
    tested = workflows.test_workflow(workflow, "contact", contact)
    assert tested["matched"] is True
    [planned] = tested["actions"][0]["messages"]
    assert planned["subject"].endswith(", Sanne!")
    assert planned["from"] == "Ada Admin <admin@example.com>"
    assert "once per record" in tested["repeat"]
    assert len(messages()) == 1  # the dry run sent nothing


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": ""}, "name"),
        ({"module": "spaceship"}, "module"),
        ({"trigger": {"type": "sometimes"}}, "trigger.type"),
        ({"trigger": {"type": "field_changed"}}, "trigger.field"),
        ({"trigger": {"type": "date", "field": "birthday", "time": "25:00"}}, "trigger.time"),
        ({"trigger": {"type": "date", "field": "email"}}, "trigger.field"),
        (
            {"conditions": {"items": [{"field": "contact.shoe", "op": "eq", "value": "1"}]}},
            "conditions.items[0].field",
        ),
        (
            {"conditions": {"items": [{"field": "contact.email", "op": "gt"}]}},
            "conditions.items[0].value",
        ),
        ({"actions": []}, "actions"),
        ({"actions": [{"template_id": 999999}]}, "actions[0].template_id"),
        ({"actions": [{"template_id": "Welcome", "to": "fixed"}]}, "actions[0].template_id"),
        ({"repeat": {"mode": "once_per_days", "days": 0}}, "repeat.days"),
    ],
)
def test_a_bad_definition_names_its_field(demo, changes, field):
    with pytest.raises(InvalidWorkflow) as caught:
        rule(**changes)
    assert caught.value.field == field


def test_actions_check_addresses_pdfs_and_modules(demo):
    welcome = template_named("Welcome").id
    bad = [
        ({"template_id": welcome, "to": "fixed", "addresses": ["nope"]}, "actions[0].addresses"),
        ({"template_id": welcome, "attach_pdf_ids": [welcome]}, "actions[0].attach_pdf_ids"),
        (
            {"template_id": welcome, "attach_pdf_ids": [template_named("Invoice (PDF)").id]},
            "actions[0].attach_pdf_ids",
        ),
        ({"template_id": template_named("Invoice reminder").id}, "actions[0].template_id"),
        ({"template_id": welcome, "sender": "user"}, "actions[0].sender_user_id"),
    ]
    for action, field in bad:
        with pytest.raises(InvalidWorkflow) as caught:
            rule(actions=[action])
        assert caught.value.field == field, action


def test_an_invoice_without_contact_or_organisation_is_a_note_not_a_crash(demo):
    workflows.save_workflow(
        {
            "name": "Invoices",
            "enabled": True,
            "module": "invoice",
            "actions": [{"template_id": template_named("Invoice reminder").id}],
        }
    )
    workflows.save_record("invoice", {"id": "LONE-1", "number": "L-1"})
    [run] = process_all()
    assert run.outcome == "nothing" and run.error == ""
    assert "neither a contact nor an organisation" in run.actions[0]["notes"][0]

"""The events of campaigns and workflows reach a subscribed endpoint, verified by the
receiver with the standardwebhooks package: a campaign that finished, a workflow run that
failed."""

from designer import campaigns, mail, webhooks, workflows
from designer.extensions import db
from designer.mail.models import Message
from designer.records.models import User
from designer.templating import Template
from designer.workflows import actions
from designer.workflows.models import Event

DUTCH = [{"field": "contact.language", "op": "eq", "value": "nl"}]


def template_named(name):
    return db.session.scalar(db.select(Template).where(Template.name == name))


def subscribe(receiver, *types):
    _, receiver.secret = webhooks.create_endpoint(receiver.url, list(types), "receiver")


def deliver_all():
    from designer.webhooks.models import WebhookDelivery

    db.session.expire_all()
    ids = db.session.scalars(db.select(WebhookDelivery.webhook_id)).all()
    return webhooks.deliver_many(list(ids))


def test_a_finished_campaign_is_posted_once(webhook_app, receiver, smtp_app, demo):
    subscribe(receiver, "campaign.finished")
    sender = db.session.scalar(db.select(User).where(User.email == "marketer@example.com"))
    segment = campaigns.create_segment("Dutch contacts", DUTCH)
    campaign = campaigns.create_campaign(
        "Spring", template=template_named("Welcome"), segment=segment, sender=sender
    )
    queued = campaigns.start(campaign)
    ids = db.session.scalars(db.select(Message.id).where(Message.campaign_id == campaign.id))
    mail.deliver_batch(list(ids), campaigns.sending_gate)
    db.session.refresh(campaign)
    assert campaign.state == "done"
    assert deliver_all()["delivered"] == 1
    [(_, payload)] = receiver.deliveries
    assert payload["type"] == "campaign.finished"
    assert payload["data"]["campaign_id"] == campaign.id
    assert payload["data"]["name"] == "Spring"
    assert queued > 0


def test_a_failed_workflow_run_is_posted_with_its_error(webhook_app, receiver, demo, monkeypatch):
    subscribe(receiver, "workflow.run_failed")
    workflow = workflows.save_workflow(
        {
            "name": "Welcome new contacts",
            "enabled": True,
            "module": "contact",
            "trigger": {"type": "created"},
            "actions": [{"template_id": template_named("Welcome").id}],
        }
    )

    def queue_fails(*args):  # an unexpected error while queueing, as a full disk would give
        raise OSError("No space left on device")

    monkeypatch.setattr(actions, "queue", queue_fails)
    workflows.save_record("contact", {"id": "C9", "first_name": "Sanne", "email": "s@x.nl"})
    event = db.session.scalar(db.select(Event).where(Event.state == "pending"))
    [run] = workflows.process_event(event.id)
    assert run.outcome == "failed"
    assert deliver_all()["delivered"] == 1
    [(_, payload)] = receiver.deliveries
    assert payload["type"] == "workflow.run_failed"
    data = payload["data"]
    assert data["workflow_id"] == workflow.id and data["run_id"] == run.id
    assert data["error"] == "OSError: No space left on device"
    assert data["record"]["module"] == "contact"

"""A campaign may target a subscription topic: recipients who opted out of it (or of all) are
left out and counted as suppressed, with the reason; a campaign without a topic is as before.
Real SMTP on loopback."""

import pytest
from support import csrf_token

from designer import campaigns, mail
from designer.campaigns.models import Campaign
from designer.extensions import db
from designer.mail import topics
from designer.mail.models import Message
from designer.records import Contact
from designer.templating import Template

DUTCH = [{"field": "contact.language", "op": "eq", "value": "nl"}]


@pytest.fixture
def events(app):
    return topics.add_topic("Events", "Invitations")


@pytest.fixture
def dutch(app, demo):
    query = db.select(Contact).where(Contact.language == "nl", Contact.email != "")
    return db.session.scalars(query.order_by(Contact.id)).all()


def new_campaign(name, topic=None):
    from designer.records import User

    template = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    sender = db.session.scalar(db.select(User).where(User.email == "marketer@example.com"))
    segment = campaigns.create_segment(name, DUTCH)
    return campaigns.create_campaign(
        name,
        template=template,
        segment=segment,
        sender=sender,
        topic_id=topic.id if topic else None,
    )


def deliver(campaign):
    query = db.select(Message.id).where(
        Message.campaign_id == campaign.id, Message.state == "queued"
    )
    return mail.deliver_batch(list(db.session.scalars(query)), campaigns.sending_gate)


def recipients(smtp_server):
    return sorted(m["To"].addresses[0].addr_spec for m in smtp_server.handler.messages())


def test_a_campaign_of_a_topic_leaves_out_who_opted_out_of_it(smtp_app, smtp_server, events, dutch):
    opted, unsubscribed = dutch[0], dutch[1]
    topics.set_opt_outs(opted.email, {events.id}, "preference page")
    db.session.commit()
    mail.suppress(unsubscribed.email)
    campaign = new_campaign("Event invitations", events)
    queued = campaigns.start(campaign)
    assert queued == len(dutch) - 2
    progress = campaigns.progress(campaign)
    assert (progress["suppressed"], progress["topic_opt_outs"]) == (2, 1)
    assert {m.topic_id for m in db.session.scalars(db.select(Message))} == {events.id}
    assert deliver(campaign)["sent"] == queued
    assert opted.email.lower() not in recipients(smtp_server)
    assert unsubscribed.email.lower() not in recipients(smtp_server)


def test_a_campaign_without_a_topic_still_reaches_topic_opt_outs(
    smtp_app, smtp_server, events, dutch
):
    topics.set_opt_outs(dutch[0].email, {events.id}, "preference page")
    db.session.commit()
    campaign = new_campaign("Newsletter")
    assert campaigns.start(campaign) == len(dutch)
    assert campaigns.progress(campaign)["topic_opt_outs"] == 0
    assert deliver(campaign)["sent"] == len(dutch)


def test_an_opt_out_after_the_start_is_held_back_before_smtp(smtp_app, smtp_server, events, dutch):
    campaign = new_campaign("Event invitations", events)
    campaigns.start(campaign)
    topics.set_opt_outs(dutch[0].email, {events.id}, "preference page")
    db.session.commit()
    outcome = deliver(campaign)
    assert (outcome["sent"], outcome["suppressed"]) == (len(dutch) - 1, 1)
    held = db.session.scalar(db.select(Message).where(Message.state == "suppressed"))
    assert held.last_error.startswith("held back: opted out of “Events”")


def test_an_archived_topic_cannot_be_targeted(app, demo, events):
    topics.archive_topic(events)
    with pytest.raises(campaigns.CampaignError, match="archived or gone"):
        new_campaign("Late", events)


def test_the_campaign_form_offers_the_topics_and_the_page_names_the_count(
    smtp_app, events, dutch, marketer_client
):
    page = marketer_client.get("/campaigns/new").text
    assert f'<option value="{events.id}">Events</option>' in page
    topics.set_opt_outs(dutch[0].email, {events.id}, "preference page")
    db.session.commit()
    template = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    token = csrf_token(marketer_client, "/campaigns/new")
    form = {
        "name": "Invitations",
        "template_id": template.id,
        "topic_id": str(events.id),
        "field": ["contact.language"],
        "op": ["eq"],
        "value": ["nl"],
        "csrf_token": token,
    }
    bad = marketer_client.post("/campaigns/new", data={**form, "topic_id": "x"})
    assert bad.status_code == 400 and "choose a topic from the list" in bad.text
    assert db.session.scalar(db.select(db.func.count(Campaign.id))) == 0
    created = marketer_client.post("/campaigns/new", data=form)
    assert created.status_code == 302
    campaign = db.session.scalar(db.select(Campaign))
    assert campaign.topic_id == events.id
    campaigns.start(campaign)
    shown = " ".join(marketer_client.get(f"/campaigns/{campaign.id}").text.split())
    assert 'topic <strong id="campaign-topic">Events</strong>' in shown
    assert "1 of them opted out of “Events”" in shown
    progress = marketer_client.get(f"/api/v1/campaigns/{campaign.id}/progress").get_json()
    assert progress["topic_opt_outs"] == 1

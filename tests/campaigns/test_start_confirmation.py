"""Starting a campaign from its page: a confirmation names how many people get it, an
audience nobody is in cannot start, and a draft shows no progress."""

from datetime import timedelta

import pytest
from support import csrf_token, log_in

from designer import campaigns, mail
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.records import Contact, User
from designer.templating import Template

DUTCH = [{"field": "contact.language", "op": "eq", "value": "nl"}]
NOBODY = [{"field": "contact.language", "op": "eq", "value": "xx"}]


def new_campaign(name, filters):
    template = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    sender = db.session.scalar(db.select(User).where(User.email == "marketer@example.com"))
    segment = campaigns.create_segment(f"{name} audience", filters)
    return campaigns.create_campaign(name, template=template, segment=segment, sender=sender)


@pytest.fixture
def mia(app, demo):
    return log_in(app.test_client(), "marketer@example.com")


def start(client, campaign, **extra):
    page = f"/campaigns/{campaign.id}"
    data = {"csrf_token": csrf_token(client, page), **extra}
    return client.post(f"{page}/start", data=data)


def messages():
    return db.session.scalars(db.select(Message)).all()


def test_start_now_asks_first_naming_the_recipient_count(smtp_app, mia):
    campaign = new_campaign("Spring", DUTCH)
    dutch = db.session.scalars(
        db.select(Contact).where(Contact.language == "nl", Contact.email != "")
    ).all()
    mail.suppress(dutch[0].email)
    reach = len(dutch) - 1
    answer = start(mia, campaign)
    assert answer.status_code == 200
    assert f"Send to {reach} contacts now?" in answer.text
    assert "1 (no e-mail address, on the suppression list, or opted out" in answer.text
    assert 'name="confirmed" value="yes"' in answer.text
    db.session.refresh(campaign)
    assert campaign.state == "draft" and messages() == []

    answer = start(mia, campaign, confirmed="yes")
    assert answer.status_code == 302
    db.session.refresh(campaign)
    assert campaign.state in ("sending", "done")
    assert len([m for m in messages() if m.state == "queued"]) == reach


def test_a_campaign_nobody_would_get_cannot_start(smtp_app, mia):
    campaign = new_campaign("Empty", NOBODY)
    for extra in ({}, {"confirmed": "yes"}):
        answer = start(mia, campaign, **extra)
        page = mia.get(answer.location).text
        assert "Not started: nobody would get this campaign" in page
        assert "Empty audience" in page and "Campaign done" not in page
    db.session.refresh(campaign)
    assert campaign.state == "draft" and messages() == []
    with pytest.raises(campaigns.NoRecipients):
        campaigns.start(campaign)
    with pytest.raises(campaigns.NoRecipients):
        campaigns.schedule(campaign, utcnow() + timedelta(hours=1))
    db.session.refresh(campaign)
    assert campaign.state == "draft"


def test_only_suppressed_recipients_is_nobody(smtp_app, mia):
    campaign = new_campaign("Suppressed", DUTCH)
    for contact in db.session.scalars(db.select(Contact).where(Contact.language == "nl")):
        if contact.email:
            mail.suppress(contact.email)
    assert campaigns.reach(campaign)[0] == 0
    page = mia.get(start(mia, campaign).location).text
    assert "Not started: nobody would get this campaign" in page


def test_a_draft_shows_no_progress(app, mia):
    campaign = new_campaign("Draft", DUTCH)
    assert campaigns.progress(campaign)["percent"] == 0.0
    page = mia.get(f"/campaigns/{campaign.id}").text
    assert "Not started: nothing has been sent yet." in page
    assert '<p hidden><span id="progress-percent">0.0</span>% done' in page
    api = mia.get(f"/api/v1/campaigns/{campaign.id}/progress").get_json()
    assert api["percent"] == 0.0 and api["state"] == "draft"
    campaigns.cancel(campaign)
    assert campaigns.progress(campaign)["percent"] == 100.0  # ended: nothing left to do


def test_the_count_leaves_out_who_opted_out_of_the_campaign_s_topic(app, demo):
    from designer.mail import topics

    events = topics.add_topic("Events", "Invitations")
    dutch = db.session.scalars(
        db.select(Contact).where(Contact.language == "nl", Contact.email != "")
    ).all()
    topics.set_opt_outs(dutch[0].email, {events.id}, "preference page")
    db.session.commit()
    campaign = new_campaign("Topic", DUTCH)
    campaign.topic_id = events.id
    db.session.commit()
    assert campaigns.reach(campaign) == (len(dutch) - 1, 1)
    assert campaigns.start(campaign) == len(dutch) - 1  # the count start really queues

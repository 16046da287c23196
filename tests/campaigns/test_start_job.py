"""Starting a large campaign: the request moves it to sending and leaves the writing of its
ledger to a job on a worker, whose progress the page and the API show; a job that dies is
finished by the dispatcher without a message twice."""

from datetime import timedelta

import pytest
from rq import Queue
from support import bearer_client, csrf_token, log_in

from designer import broker, campaigns, mail
from designer.broker import get_redis
from designer.campaigns.models import Campaign
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.records import Contact, User
from designer.templating import Template

DUTCH = [{"field": "contact.language", "op": "eq", "value": "nl"}]
NOBODY = [{"field": "contact.language", "op": "eq", "value": "xx"}]


@pytest.fixture
def by_job(app):
    """Every audience is large enough to be queued by the start's job."""
    app.config["START_INLINE_RECIPIENTS"] = 0
    return app


def new_campaign(name, filters=DUTCH):
    template = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    sender = db.session.scalar(db.select(User).where(User.email == "marketer@example.com"))
    segment = campaigns.create_segment(f"{name} audience", filters)
    return campaigns.create_campaign(name, template=template, segment=segment, sender=sender)


@pytest.fixture
def campaign(demo):
    return new_campaign("Spring")


def dutch_count():
    return db.session.scalar(
        db.select(db.func.count(Contact.id)).where(Contact.language == "nl", Contact.email != "")
    )


def start_jobs():
    """The start jobs waiting on the periodic queue, as campaign ids."""
    jobs = Queue(broker.PERIODIC, connection=get_redis()).jobs
    return [job.args[0] for job in jobs if job.func_name == broker.QUEUE_RECIPIENTS]


def messages_per_contact(campaign):
    query = (
        db.select(Message.contact_id, db.func.count(Message.id))
        .where(Message.campaign_id == campaign.id)
        .group_by(Message.contact_id)
    )
    return dict(db.session.execute(query).all())


def reloaded(campaign):
    db.session.expire_all()
    return db.session.get(Campaign, campaign.id)


def crash_after_first_chunk(monkeypatch, app):
    """The start's job dies once its second chunk is written, before that one is queued
    (a worker killed between the commit and Redis)."""
    monkeypatch.setattr(campaigns.lifecycle, "INSERT_CHUNK", 2)
    app.config["BATCH_SIZE"] = 1  # the first chunk: 2 rows, then chunks of 2
    real_enqueue, calls = mail.ledger.enqueue_written, []

    def enqueue_then_die(ids):
        calls.append(ids)
        if len(calls) > 1:
            raise ConnectionError("worker killed while queuing")
        real_enqueue(ids)

    monkeypatch.setattr(mail.ledger, "enqueue_written", enqueue_then_die)


def age_heartbeat(campaign, seconds):
    db.session.execute(
        db.update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(queue_heartbeat_at=utcnow() - timedelta(seconds=seconds))
    )
    db.session.commit()


def test_start_moves_to_sending_and_leaves_the_ledger_to_a_job(
    smtp_app, smtp_server, by_job, campaign, run_worker_burst
):
    assert campaigns.start(campaign) == 0  # nothing queued by the start itself
    campaign = reloaded(campaign)
    assert campaign.state == "sending" and campaign.queuing
    assert (campaign.audience_read, campaign.audience_size) == (0, dutch_count())
    assert start_jobs() == [campaign.id]
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0
    job = Queue(broker.PERIODIC, connection=get_redis()).jobs[0]
    assert job.timeout == broker.TIMEOUTS[broker.QUEUE_RECIPIENTS]

    run_worker_burst()  # the job writes and queues the ledger, the same burst sends it
    campaign = reloaded(campaign)
    assert campaign.state == "done" and not campaign.queuing
    assert campaign.audience_read == campaign.audience_size == dutch_count()
    assert len(smtp_server.handler.messages()) == dutch_count()
    assert set(messages_per_contact(campaign).values()) == {1}


def test_small_audiences_are_still_queued_by_the_start_itself(smtp_app, campaign):
    assert smtp_app.config["START_INLINE_RECIPIENTS"] >= dutch_count()
    assert campaigns.start(campaign) == dutch_count()
    campaign = reloaded(campaign)
    assert not campaign.queuing and campaign.audience_read == dutch_count()
    assert start_jobs() == []


def test_rows_are_written_queued_and_not_written_again(smtp_app, by_job, campaign):
    campaigns.start(campaign)
    before = utcnow()
    assert campaigns.queue_started(campaign.id) == dutch_count()
    rows = db.session.scalars(db.select(Message).where(Message.campaign_id == campaign.id)).all()
    assert all(row.enqueued_at is not None and row.enqueued_at >= before for row in rows)
    jobs = Queue(broker.EMAILS, connection=get_redis()).jobs
    assert sorted(i for job in jobs for i in job.args[0]) == sorted(row.id for row in rows)
    assert mail.dispatch_due(campaigns.sending_gate) == 0  # their jobs are on their way
    assert campaigns.queue_started(campaign.id) == 0  # the ledger is written: a no-op


def test_the_page_shows_how_many_recipients_are_queued(smtp_app, by_job, campaign, monkeypatch):
    mia = log_in(smtp_app.test_client(), "marketer@example.com")
    draft = mia.get(f"/campaigns/{campaign.id}").text
    assert "Queuing recipients" not in draft and 'id="queuing-bar"' not in draft

    campaigns.start(campaign)
    crash_after_first_chunk(monkeypatch, smtp_app)
    with pytest.raises(ConnectionError):
        campaigns.queue_started(campaign.id)
    db.session.rollback()
    page = mia.get(f"/campaigns/{campaign.id}").text
    assert (
        'Queuing recipients: <strong id="queuing-read">4</strong> of '
        f'<strong id="queuing-size">{dutch_count()}</strong>'
    ) in page
    assert 'aria-label="Recipients queued"' in page and 'id="queuing-bar"' in page

    db.session.execute(
        db.update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(audience_read=12000, audience_size=100000)
    )
    db.session.commit()
    page = mia.get(f"/campaigns/{campaign.id}").text
    assert "12,000</strong> of <strong" in page and "100,000" in page
    assert 'style="width: 12.0%"' in page


def test_the_api_says_how_far_the_start_has_come(smtp_app, by_job, campaign, marketer_api):
    started = marketer_api.post(f"/api/v1/campaigns/{campaign.id}/start")
    body = started.get_json()
    assert started.status_code == 200 and body["state"] == "sending"
    assert body["queuing"] is True and body["audience_read"] == 0
    assert body["audience_size"] == dutch_count() and body["queued"] == 0
    shown = marketer_api.get(f"/api/v1/campaigns/{campaign.id}").get_json()
    assert (shown["queuing"], shown["audience_read"], shown["audience_size"]) == (
        True,
        0,
        dutch_count(),
    )
    campaigns.queue_started(campaign.id)
    progress = marketer_api.get(f"/api/v1/campaigns/{campaign.id}/progress").get_json()
    assert progress["queuing"] is False and progress["queued"] == dutch_count()
    assert progress["audience_read"] == progress["audience_size"] == dutch_count()
    draft = marketer_api.get(f"/api/v1/campaigns/{new_campaign('Later').id}").get_json()
    assert (draft["queuing"], draft["audience_read"], draft["audience_size"]) == (False, 0, None)


def test_the_spec_describes_the_queuing_fields(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    for schema in ("Campaign", "Progress"):
        described = spec["components"]["schemas"][schema]["properties"]
        assert described["queuing"]["type"] == "boolean"
        assert "audience_size" in described and "description" in described["audience_read"]


def test_an_empty_audience_is_refused_and_queues_no_job(smtp_app, by_job, demo, admin_api):
    nobody = new_campaign("Nobody", NOBODY)
    with pytest.raises(campaigns.NoRecipients, match="nobody would get this campaign"):
        campaigns.start(nobody)
    refused = admin_api.post(f"/api/v1/campaigns/{nobody.id}/start")
    assert refused.status_code == 409
    assert "nobody would get this campaign" in refused.get_json()["error"]["message"]
    mia = log_in(smtp_app.test_client(), "marketer@example.com")
    page = f"/campaigns/{nobody.id}"
    answer = mia.post(
        f"{page}/start", data={"csrf_token": csrf_token(mia, page), "confirmed": "yes"}
    )
    assert "Not started: nobody would get" in mia.get(answer.location).text
    assert reloaded(nobody).state == "draft" and start_jobs() == []


def test_who_may_not_start_starts_nothing(smtp_app, by_job, campaign, marketer_token):
    anonymous = smtp_app.test_client()
    assert anonymous.post(f"/api/v1/campaigns/{campaign.id}/start").status_code == 401
    login = anonymous.post(f"/campaigns/{campaign.id}/start", data={"confirmed": "yes"})
    assert login.status_code in (302, 400) and start_jobs() == []
    marketer = db.session.scalar(db.select(User).where(User.email == "marketer@example.com"))
    marketer.disabled_at = utcnow()
    db.session.commit()
    disabled = bearer_client(smtp_app, marketer_token)
    assert disabled.post(f"/api/v1/campaigns/{campaign.id}/start").status_code == 401
    assert reloaded(campaign).state == "draft" and start_jobs() == []


def test_a_second_start_is_refused(smtp_app, by_job, campaign, marketer_api):
    campaigns.start(campaign)
    with pytest.raises(campaigns.CampaignError, match="a sending campaign cannot be started"):
        campaigns.start(campaign)
    again = marketer_api.post(f"/api/v1/campaigns/{campaign.id}/start")
    assert again.status_code == 409 and "cannot be started" in again.get_json()["error"]["message"]
    assert start_jobs() == [campaign.id]


def test_a_job_that_died_is_finished_by_the_dispatcher_once(
    smtp_app, smtp_server, by_job, campaign, monkeypatch, run_worker_burst
):
    campaigns.start(campaign)
    Queue(broker.PERIODIC, connection=get_redis()).empty()  # taken by a worker that dies
    crash_after_first_chunk(monkeypatch, smtp_app)
    with pytest.raises(ConnectionError):
        campaigns.queue_started(campaign.id)
    monkeypatch.undo()
    db.session.rollback()
    assert sum(messages_per_contact(campaign).values()) == 4  # two chunks written
    assert campaigns.finish_interrupted_queuing() == 0  # written a moment ago: maybe alive
    age_heartbeat(campaign, campaigns.lifecycle.QUEUING_STALE_SECONDS + 1)
    assert campaigns.finish_interrupted_queuing() == 1
    assert campaigns.finish_interrupted_queuing() == 0  # taken over: not twice
    assert start_jobs() == [campaign.id]

    run_worker_burst()
    campaign = reloaded(campaign)
    assert campaign.state == "done" and campaign.queued_at is not None
    assert set(messages_per_contact(campaign).values()) == {1}
    assert len(messages_per_contact(campaign)) == dutch_count()
    sent_to = [m["To"] for m in smtp_server.handler.messages()]
    assert len(sent_to) == len(set(sent_to)) == dutch_count()


def test_rows_whose_jobs_never_reached_redis_are_dispatched_when_stale(
    smtp_app, by_job, campaign, monkeypatch
):
    campaigns.start(campaign)
    crash_after_first_chunk(monkeypatch, smtp_app)
    with pytest.raises(ConnectionError):
        campaigns.queue_started(campaign.id)
    monkeypatch.undo()
    db.session.rollback()
    emails = Queue(broker.EMAILS, connection=get_redis())
    assert sum(len(job.args[0]) for job in emails.jobs) == 2  # the second chunk never went
    assert mail.dispatch_due(campaigns.sending_gate) == 0  # their jobs may still be on their way
    stale = utcnow() - timedelta(seconds=smtp_app.config["STALE_ENQUEUE_SECONDS"] + 1)
    db.session.execute(db.update(Message).values(enqueued_at=stale))
    db.session.commit()
    assert mail.dispatch_due(campaigns.sending_gate) == 4


def test_a_campaign_cancelled_while_queuing_stops_the_job(smtp_app, by_job, campaign, monkeypatch):
    campaigns.start(campaign)
    monkeypatch.setattr(campaigns.lifecycle, "INSERT_CHUNK", 2)
    smtp_app.config["BATCH_SIZE"] = 1
    real_enqueue = mail.ledger.enqueue_written

    def enqueue_then_cancel(ids):  # the marketer cancels after the first chunk
        real_enqueue(ids)
        campaigns.cancel(db.session.get(Campaign, campaign.id))

    monkeypatch.setattr(mail.ledger, "enqueue_written", enqueue_then_cancel)
    campaigns.queue_started(campaign.id)
    campaign = reloaded(campaign)
    assert campaign.state == "cancelled" and not campaign.queuing
    states = db.session.scalars(db.select(Message.state)).all()
    assert states == ["cancelled", "cancelled"]
    assert campaigns.finish_interrupted_queuing(after_seconds=-1) == 0


def test_a_large_scheduled_campaign_starts_through_a_job(smtp_app, by_job, campaign):
    campaigns.schedule(campaign, utcnow() + timedelta(hours=1))
    campaign.scheduled_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert campaigns.start_due_campaigns() == 1
    assert reloaded(campaign).queuing and start_jobs() == [campaign.id]

"""Campaigns end to end against a real SMTP server on loopback: audience, lifecycle, unsubscribe."""

import csv
import io
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from rq import Queue
from support import csrf_token, log_in

from designer import campaigns, mail, tracking
from designer.broker import get_redis
from designer.campaigns.models import Campaign
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.records import Contact
from designer.templating import add_version
from designer.tracking.models import TrackingEvent

DUTCH = [{"field": "contact.language", "op": "eq", "value": "nl"}]


@pytest.fixture
def audience(app, demo):
    return campaigns.create_segment("Dutch contacts", DUTCH)


@pytest.fixture
def campaign(app, audience):
    from designer.records import User
    from designer.templating import Template

    template = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    source = template.current.source.replace(
        "</mj-body>",
        '<mj-section><mj-column><mj-text><a href="{{ unsubscribe_url }}">'
        "Unsubscribe</a></mj-text></mj-column></mj-section></mj-body>",
    )
    add_version(template, source)
    sender = db.session.scalar(db.select(User).where(User.email == "marketer@example.com"))
    return campaigns.create_campaign("Spring", template=template, segment=audience, sender=sender)


def deliver(ids):
    """Send a batch as the ``send_messages`` job does: through the campaigns' gate."""
    return mail.deliver_batch(ids, campaigns.sending_gate)


def queued_ids(campaign):
    query = db.select(Message.id).where(
        Message.campaign_id == campaign.id, Message.state == "queued"
    )
    return list(db.session.scalars(query))


def dutch_count():
    return db.session.scalar(
        db.select(db.func.count(Contact.id)).where(Contact.language == "nl", Contact.email != "")
    )


def test_audience_count_follows_the_filters(app, demo):
    assert campaigns.audience_count(DUTCH) == dutch_count()
    retail = [*DUTCH, {"field": "organisation.industry", "op": "eq", "value": "Retail"}]
    assert campaigns.audience_count(retail) < campaigns.audience_count(DUTCH)
    with pytest.raises(campaigns.FilterInvalid, match="cannot filter on"):
        campaigns.audience_count([{"field": "contact.password", "op": "eq", "value": "x"}])


def test_start_writes_one_message_per_recipient_once(smtp_app, campaign):
    suppressed = db.session.scalar(db.select(Contact).where(Contact.language == "nl"))
    mail.suppress(suppressed.email.upper())
    queued = campaigns.start(campaign)
    assert queued == dutch_count() - 1
    assert campaigns.progress(campaign)["suppressed"] == 1
    assert suppressed.email not in {
        m.recipient_email for m in db.session.scalars(db.select(Message))
    }
    campaigns.lifecycle.queue_recipients(campaign)  # queuing again adds nothing
    assert len(queued_ids(campaign)) == queued
    with pytest.raises(campaigns.CampaignError, match="cannot be started"):
        campaigns.start(campaign)
    jobs = Queue("emails", connection=get_redis()).jobs
    assert sum(len(job.args[0]) for job in jobs) >= queued


def test_campaign_sends_with_unsubscribe_headers_and_finishes(smtp_app, smtp_server, campaign):
    campaigns.start(campaign)
    outcome = deliver(queued_ids(campaign))
    assert outcome["sent"] == dutch_count()
    db.session.refresh(campaign)
    assert campaign.state == "done" and campaigns.progress(campaign)["percent"] == 100.0
    received = smtp_server.handler.messages()
    first = received[0]
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/u/" in first["List-Unsubscribe"] and "mailto:" in first["List-Unsubscribe"]
    html = first.get_body(("html",)).get_content()
    assert first["List-Unsubscribe"].split(">")[0].lstrip("<").split("/u/")[1] in html


def test_one_click_unsubscribe_suppresses_at_once(smtp_app, smtp_server, campaign, client):
    campaigns.start(campaign)
    deliver(queued_ids(campaign))
    received = smtp_server.handler.messages()[0]
    url = received["List-Unsubscribe"].split(">")[0].lstrip("<")
    path = url[url.index("/u/") :]
    assert client.post(path, data="List-Unsubscribe=One-Click").status_code == 200
    address = received["To"].addresses[0].addr_spec
    assert mail.is_suppressed(address)
    assert client.get(path[:-1] + ("0" if path[-1] != "0" else "1")).status_code == 404


def test_pause_stops_and_resume_sends_exactly_the_rest(smtp_app, smtp_server, campaign):
    campaigns.start(campaign)
    ids = queued_ids(campaign)
    first, rest = ids[:3], ids[3:]
    assert deliver(first)["sent"] == 3
    campaigns.pause(campaign)
    outcome = deliver(rest)
    assert outcome["sent"] == 0 and len(smtp_server.handler.messages()) == 3
    campaigns.resume(campaign)
    deliver(queued_ids(campaign))
    addresses = [m["To"].addresses[0].addr_spec for m in smtp_server.handler.messages()]
    assert len(addresses) == len(ids) == len(set(addresses))
    db.session.refresh(campaign)
    assert campaign.state == "done"


def test_without_the_campaigns_gate_campaign_mail_waits(smtp_app, smtp_server, campaign):
    campaigns.start(campaign)
    ids = queued_ids(campaign)
    assert mail.deliver_batch(ids)["skipped"] == len(ids)  # the loop alone sends no campaign
    assert smtp_server.handler.messages() == [] and len(queued_ids(campaign)) == len(ids)
    assert deliver(ids)["sent"] == len(ids)


def test_a_campaign_without_tracking_sends_plain_links(smtp_app, smtp_server, campaign):
    campaign.tracking = False
    db.session.commit()
    campaigns.start(campaign)
    deliver(queued_ids(campaign)[:1])
    html = smtp_server.handler.messages()[0].get_body(("html",)).get_content()
    assert "/o/" not in html and "/c/" not in html and "href=" in html


def test_cancel_keeps_the_ledger(smtp_app, smtp_server, campaign):
    campaigns.start(campaign)
    ids = queued_ids(campaign)
    deliver(ids[:2])
    campaigns.cancel(campaign)
    assert deliver(ids)["sent"] == 0
    states = [m.state for m in db.session.scalars(db.select(Message).order_by(Message.id))]
    assert states.count("sent") == 2 and states.count("cancelled") == len(ids) - 2


def test_suppression_is_checked_again_before_smtp(smtp_app, smtp_server, campaign):
    campaigns.start(campaign)
    ids = queued_ids(campaign)
    late = db.session.get(Message, ids[0])
    mail.suppress(late.recipient_email, "bounced")
    outcome = deliver(ids)
    assert outcome["suppressed"] == 1
    db.session.refresh(late)
    assert late.state == "suppressed"
    assert late.recipient_email not in [
        m["To"].addresses[0].addr_spec for m in smtp_server.handler.messages()
    ]


def test_campaign_is_not_done_before_its_ledger_is_written(
    smtp_app, smtp_server, campaign, monkeypatch
):
    monkeypatch.setattr(campaigns.lifecycle, "INSERT_CHUNK", 2)
    smtp_app.config["BATCH_SIZE"] = 1  # first chunk: 2 rows, then chunks of 2
    chunks = []
    real_enqueue = mail.ledger.enqueue_written

    def deliver_each_chunk(ids):  # a fast worker finishing each chunk before the next
        real_enqueue(ids)
        chunks.append(deliver(ids)["sent"])
        db.session.refresh(campaign)
        assert campaign.state == "sending"

    monkeypatch.setattr(mail.ledger, "enqueue_written", deliver_each_chunk)
    campaigns.start(campaign)
    db.session.refresh(campaign)
    assert len(chunks) > 1 and sum(chunks) == dutch_count()
    assert campaign.state == "done" and campaign.queued_at is not None


def test_interrupted_start_is_finished_by_the_dispatcher(smtp_app, campaign, monkeypatch):
    def crash(*args, **kwargs):
        raise ConnectionError("killed while queuing")

    monkeypatch.setattr(mail.ledger, "enqueue_written", crash)
    with pytest.raises(ConnectionError):
        campaigns.start(campaign)
    monkeypatch.undo()
    db.session.rollback()
    assert campaigns.finish_interrupted_queuing() == 0  # too recent: maybe still running
    assert campaigns.finish_interrupted_queuing(after_seconds=-1) == 1
    db.session.refresh(campaign)
    assert campaign.queued_at is not None and len(queued_ids(campaign)) == dutch_count()
    jobs = Queue("emails", connection=get_redis()).jobs
    assert sum(len(job.args[0]) for job in jobs) == dutch_count()


def test_scheduled_campaign_starts_when_due(smtp_app, campaign):
    campaigns.schedule(campaign, utcnow() + timedelta(hours=1))
    assert campaigns.start_due_campaigns() == 0
    campaign.scheduled_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert campaigns.start_due_campaigns() == 1
    db.session.refresh(campaign)
    assert campaign.state == "sending" and queued_ids(campaign)
    with pytest.raises(campaigns.CampaignError, match="in the past"):
        campaigns.schedule(campaign, utcnow() - timedelta(minutes=1))


def test_campaign_pages_and_api(smtp_app, demo, client):
    marketer = log_in(client, "marketer@example.com")
    token = csrf_token(marketer, "/campaigns/new")
    from designer.templating import Template

    template = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    assert 'data-count-url="/api/v1/segments/count"' in marketer.get("/campaigns/new").text
    count = marketer.post(
        "/api/v1/segments/count", json={"filters": DUTCH}, headers={"X-CSRFToken": token}
    )
    assert count.get_json()["count"] == dutch_count()
    bad = marketer.post(
        "/api/v1/segments/count",
        json={"filters": [{"field": "x", "value": "1"}]},
        headers={"X-CSRFToken": token},
    )
    assert bad.status_code == 422 and "filters.0.field" in bad.get_json()["error"]["message"]
    two_tags = [{"field": "contact.tags", "op": "has_tag", "value": "a,b"}]
    refused = marketer.post(
        "/api/v1/segments/count", json={"filters": two_tags}, headers={"X-CSRFToken": token}
    )
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_filter"
    created = marketer.post(
        "/campaigns/new",
        data={
            "name": "Web",
            "template_id": template.id,
            "field": ["contact.language"],
            "op": ["eq"],
            "value": ["de"],
            "tracking": "on",
            "csrf_token": token,
        },
    )
    assert created.status_code == 302
    campaign = db.session.scalar(db.select(Campaign).where(Campaign.name == "Web"))
    page = marketer.get(f"/campaigns/{campaign.id}")
    assert page.status_code == 200 and "progressbar" in page.text
    progress_url = f"/api/v1/campaigns/{campaign.id}/progress"
    assert f'data-progress-url="{progress_url}"' in page.text
    started = marketer.post(
        f"/api/v1/campaigns/{campaign.id}/start", headers={"X-CSRFToken": token}
    )
    assert started.status_code == 200 and started.get_json()["state"] == "sending"
    again = marketer.post(f"/api/v1/campaigns/{campaign.id}/start", headers={"X-CSRFToken": token})
    assert again.status_code == 409 and "cannot be started" in again.get_json()["error"]["message"]
    progress = marketer.get(progress_url).get_json()
    assert progress["queued"] == campaigns.audience_count(
        [{"field": "contact.language", "op": "eq", "value": "de"}]
    )
    assert marketer.get("/campaigns/999").status_code == 404


def test_message_bytes_parse_back(smtp_app, smtp_server, campaign):
    campaigns.start(campaign)
    deliver(queued_ids(campaign)[:1])
    raw = smtp_server.handler.received[0].original_content
    assert message_from_bytes(raw, policy=policy.default)["Subject"]


def test_two_workers_at_once_send_each_message_once(smtp_app, smtp_server, campaign):
    import subprocess
    import sys

    from support import child_env

    campaigns.start(campaign)
    expected = len(queued_ids(campaign))
    # Both workers also get every id once more, as a second dispatcher would queue them.
    mail.ledger.enqueue_ids(queued_ids(campaign))
    db.session.commit()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "designer", "worker", "--burst"],
            env=child_env(smtp_app),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.wait(timeout=180) == 0
    addresses = [e.rcpt_tos[0] for e in smtp_server.handler.received]
    assert len(addresses) == expected == len(set(addresses))
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).state == "done"


def test_tag_and_opened_campaign_filters(smtp_app, smtp_server, campaign):
    vip = campaigns.audience_count([{"field": "contact.tags", "op": "has_tag", "value": "VIP"}])
    assert 0 < vip < db.session.scalar(db.select(db.func.count(Contact.id)))
    with pytest.raises(campaigns.FilterInvalid, match="one tag"):
        campaigns.audience_count([{"field": "contact.tags", "op": "has_tag", "value": "a,b"}])
    campaigns.start(campaign)
    ids = queued_ids(campaign)
    deliver(ids)
    opened = db.session.get(Message, ids[0])
    tracking.record_open(opened.token)
    tracking.flush()
    rule = {"field": "opened_campaign", "value": campaign.id}
    assert campaigns.audience_count([rule]) == 1
    not_opened = campaigns.audience_count(
        [{"field": "not_opened_campaign", "value": campaign.id}, *DUTCH]
    )
    assert not_opened == len(ids) - 1


def test_report_figures_links_chart_and_csv(smtp_app, smtp_server, campaign, client):
    from designer.tracking import Hit

    campaigns.start(campaign)
    ids = queued_ids(campaign)
    deliver(ids)
    first, second = db.session.get(Message, ids[0]), db.session.get(Message, ids[1])
    for message in (first, second):
        message.sent_at = utcnow() - timedelta(hours=1)
    first.recipient_name = '=HYPERLINK("http://evil")'
    first.recipient_email = "@SUM(1+1)@example.com"  # any column may carry a formula
    db.session.commit()
    human = Hit("GET", "Mozilla/5.0 Thunderbird", "203.0.113.5")
    tracking.record_open(first.token, human)
    tracking.record_open(first.token, Hit("GET", "Mozilla/5.0", "17.0.0.9"))
    tracking.record_open(second.token, human)
    tracking.record_click(first, 0, human)
    mail.suppress(second.recipient_email, campaign_id=campaign.id)
    marketer = log_in(client, "marketer@example.com")
    body = marketer.get(f"/api/v1/campaigns/{campaign.id}/report").get_json()
    figures = body["figures"]
    assert figures["sent"] == len(ids) and figures["unique_opens"] == 2
    assert figures["opens"] == 3 and figures["human_opens"] == 2
    assert figures["unique_clicks"] == 1 and figures["unsubscribes"] == 1
    assert figures["click_through_rate"] == round(100 / len(ids), 1)
    assert body["links"][0]["clicks"] == 1 and body["activity"][0]["opens"] == 3
    [hour] = body["activity"]
    assert hour["clicks"] == 1 and hour["hour"].endswith(":00:00Z")
    earlier = db.session.scalars(db.select(TrackingEvent).where(TrackingEvent.kind == "open"))
    earlier.first().at -= timedelta(hours=3)
    db.session.commit()
    activity = marketer.get(f"/api/v1/campaigns/{campaign.id}/report").get_json()["activity"]
    assert [(a["opens"], a["clicks"]) for a in activity] == [(1, 0), (2, 1)]
    page = marketer.get(f"/campaigns/{campaign.id}/report")
    assert page.status_code == 200 and "<svg" in page.text
    csv_text = marketer.get(f"/campaigns/{campaign.id}/report.csv").text
    assert csv_text.count("\n") == len(ids) + 1
    assert "'=HYPERLINK" in csv_text  # spreadsheet formulas from recipient data are defused
    assert "'@SUM(1+1)@example.com" in csv_text
    cells = [cell for row in csv.reader(io.StringIO(csv_text)) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_the_campaign_list_shows_sent_opened_clicked_and_replied(
    smtp_app, smtp_server, campaign, client
):
    from designer.tracking import Hit

    draft = campaigns.create_campaign(
        "Autumn", template=campaign.template, segment=campaign.segment, sender=campaign.sender
    )
    campaigns.start(campaign)
    ids = queued_ids(campaign)
    deliver(ids)
    first, second = db.session.get(Message, ids[0]), db.session.get(Message, ids[1])
    human = Hit("GET", "Mozilla/5.0 Thunderbird", "203.0.113.5")
    tracking.record_open(first.token, human)
    tracking.record_open(first.token, human)
    tracking.record_open(second.token, human)
    tracking.record_click(first, 0, human)
    second.replied_at = first.sent_at  # a reply read from the sender's mailbox
    db.session.commit()
    page = log_in(client, "marketer@example.com").get("/campaigns").text
    rows = {
        name: " ".join(row.split())
        for name in ("Spring", "Autumn")
        for row in page.split("<tr>")
        if f">{name}</strong>" in row
    }
    opened, clicked = round(200 / len(ids), 1), round(100 / len(ids), 1)
    assert f'<td class="num">{len(ids)}</td>' in rows["Spring"]
    assert f'<td class="num">2 <span class="muted">({opened}%)</span></td>' in rows["Spring"]
    assert f'<td class="num">1 <span class="muted">({clicked}%)</span></td>' in rows["Spring"]
    assert '<td class="num replied-count">1</td>' in rows["Spring"]
    assert draft.state == "draft" and rows["Autumn"].count('<td class="num muted">\u2013</td>') == 4

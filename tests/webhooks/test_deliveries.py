"""Outbound webhooks against a real HTTP receiver on loopback: signed per Standard Webhooks
(verified by the standardwebhooks package), retried, switched off after a day of failures,
refused for private addresses, and never in the way of sending."""

import json
from datetime import datetime, timedelta

import pytest
from support import free_port

from designer import clock, mail, tracking, webhooks
from designer.broker import WEBHOOKS, get_queue
from designer.extensions import db
from designer.webhooks.models import WebhookDelivery


def subscribe(receiver, *types):
    endpoint, secret = webhooks.create_endpoint(receiver.url, list(types), "receiver")
    receiver.secret = secret
    return endpoint


def queue(welcome, contact, sender, enqueue=False):
    return mail.queue_message(
        welcome.current, module="contact", record=contact, sender_user=sender, enqueue=enqueue
    )


def deliveries():
    db.session.expire_all()
    return db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def deliver_all():
    return webhooks.deliver_many([d.webhook_id for d in deliveries()])


@pytest.fixture
def moved_clock(monkeypatch):
    """``moved_clock(delta)``: the app's clock runs ``delta`` ahead from now on."""
    real = clock.utcnow

    def move(delta):
        monkeypatch.setattr(clock, "utcnow", lambda: real() + delta)

    return move


def test_a_sent_message_is_posted_signed_and_its_job_queued(
    webhook_app, smtp_server, receiver, welcome, people
):
    webhook_app.config["SMTP_URL"] = smtp_server.url
    subscribe(receiver, "message.sent")
    message = queue(welcome, people.jan, people.admin)
    assert mail.deliver_batch([message.id])["sent"] == 1
    [row] = deliveries()
    assert row.state == "pending" and row.event_type == "message.sent"
    assert get_queue(WEBHOOKS).count == 1  # queued once the row was committed
    assert deliver_all()["delivered"] == 1
    [(headers, payload)] = receiver.deliveries
    assert headers["webhook-id"] == row.webhook_id
    assert payload["type"] == "message.sent"
    assert payload["data"]["to"] == "jan@devries.example"
    assert payload["data"]["message_id"] == message.id
    assert payload["data"]["subject"] == "Welcome, Jan!"
    [row] = deliveries()
    assert (row.state, row.response_code, row.attempts, row.error) == ("delivered", 200, 1, "")


def test_a_real_worker_sends_the_mail_and_then_the_webhook(
    webhook_app, smtp_server, receiver, welcome, people, run_worker_burst
):
    webhook_app.config["SMTP_URL"] = smtp_server.url
    subscribe(receiver, "message.sent")
    queue(welcome, people.emma, people.admin, enqueue=True)
    run_worker_burst()
    assert len(smtp_server.handler.messages()) == 1
    [(_, payload)] = receiver.deliveries
    assert payload["data"]["to"] == "emma@devries.example" and not receiver.bad
    assert [d.state for d in deliveries()] == ["delivered"]


def test_nobody_subscribed_writes_and_queues_nothing(
    webhook_app, smtp_server, receiver, welcome, people
):
    webhook_app.config["SMTP_URL"] = smtp_server.url
    subscribe(receiver, "message.opened")  # another event
    message = queue(welcome, people.jan, people.admin)
    assert mail.deliver_batch([message.id])["sent"] == 1
    assert deliveries() == [] and get_queue(WEBHOOKS).count == 0


def test_sending_goes_on_when_the_endpoint_is_down(webhook_app, smtp_server, welcome, people):
    webhook_app.config["SMTP_URL"] = smtp_server.url
    webhooks.create_endpoint(f"http://127.0.0.1:{free_port()}/nobody", ["message.sent"])
    messages = [queue(welcome, c, people.admin) for c in (people.jan, people.emma)]
    assert mail.deliver_batch([m.id for m in messages])["sent"] == 2
    assert len(smtp_server.handler.messages()) == 2
    outcome = deliver_all()
    assert outcome == {"delivered": 0, "failed": 1, "skipped": 1}  # one try per endpoint a job
    rows = deliveries()
    assert all(r.state == "pending" for r in rows)
    assert "could not connect" in rows[0].error


def test_a_500_is_retried_later_and_then_delivered(webhook_app, receiver, moved_clock):
    subscribe(receiver, "contact.unsubscribed")
    receiver.answers = [500]
    mail.suppress("sanne@example.nl")
    assert deliver_all()["failed"] == 1
    [row] = deliveries()
    assert row.state == "pending" and row.response_code == 500
    assert row.error == "answered 500 Internal Server Error"
    assert timedelta(seconds=50) < row.next_attempt_at - row.last_attempt_at <= timedelta(minutes=1)
    assert webhooks.dispatch_due() == 0  # not due yet
    moved_clock(timedelta(minutes=2))
    assert webhooks.dispatch_due() == 1
    assert deliver_all()["delivered"] == 1
    [row] = deliveries()
    assert (row.state, row.attempts, row.response_code) == ("delivered", 2, 200)
    [(headers, payload)] = receiver.deliveries
    assert headers["webhook-id"] == row.webhook_id  # the same id on every attempt
    assert payload["data"]["email"] == "sanne@example.nl"
    assert webhooks.get_endpoint(row.endpoint_id).failing_since is None


def test_a_day_of_failures_gives_up_and_switches_the_endpoint_off(
    webhook_app, receiver, moved_clock, admin_client
):
    endpoint = subscribe(receiver, "contact.unsubscribed")
    receiver.answers = [503] * 20
    mail.suppress("a@example.nl")
    deliver_all()
    moved_clock(timedelta(hours=12))
    mail.suppress("b@example.nl")
    deliver_all()
    assert webhooks.get_endpoint(endpoint.id).enabled  # failing for 12 hours only
    moved_clock(timedelta(hours=24, minutes=1))
    deliver_all()
    first, second = deliveries()
    assert first.state == "failed" and first.error.startswith("gave up after 3 attempts")
    assert second.state == "pending"  # its own 24 hours are not over
    endpoint = webhooks.get_endpoint(endpoint.id)
    assert not endpoint.enabled and "every delivery since" in endpoint.disabled_reason
    assert webhooks.dispatch_due() == 0  # nothing more goes to it
    mail.suppress("c@example.nl")
    assert len(deliveries()) == 2  # nor is anything new kept for it
    page = admin_client.get("/templates").text
    assert "was switched off after a day of failed deliveries" in page
    assert (
        "This endpoint was switched off"
        in admin_client.get(f"/settings/webhooks/{endpoint.id}").text
    )
    receiver.answers = []
    moved_clock(timedelta(0))  # the receiver checks the signed time against its own clock
    webhooks.switch_on(endpoint)
    assert deliver_all()["delivered"] == 1
    assert "switched off after a day" not in admin_client.get("/templates").text


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/x", "loopback"),
        ("http://localhost/x", "loopback"),
        ("http://10.1.2.3/x", "private"),
        ("http://192.168.1.1/x", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]/x", "loopback"),
        ("http://100.64.0.1/x", "shared"),
        ("ftp://example.com/x", "http:// or https://"),
        ("http://user:secret@example.com/x", "user name or password"),
        ("not a url", "http:// or https://"),
        ("http://exa mple.com/", "spaces"),
    ],
)
def test_non_public_and_odd_urls_are_refused(app, url, why):
    with pytest.raises(webhooks.InvalidEndpoint) as refused:
        webhooks.create_endpoint(url, ["message.sent"])
    assert why in str(refused.value)
    assert refused.value.field == "url"


def test_the_address_is_checked_again_when_delivering(webhook_app, receiver):
    subscribe(receiver, "contact.unsubscribed")
    webhook_app.config["ALLOWED_WEBHOOK_HOSTS"] = ""  # the allow-list changed since
    mail.suppress("x@example.nl")
    deliver_all()
    [row] = deliveries()
    assert row.error.startswith("refused: 127.0.0.1 is a loopback address")
    assert "ALLOWED_WEBHOOK_HOSTS" in row.error and receiver.requests == []


def test_redirects_are_not_followed(webhook_app, receiver):
    subscribe(receiver, "contact.unsubscribed")
    receiver.answers = [302]
    mail.suppress("x@example.nl")
    deliver_all()
    [row] = deliveries()
    assert row.state == "pending" and "redirects are not followed" in row.error
    assert len(receiver.requests) == 1


def test_events_where_they_happen(webhook_app, receiver, smtp_server, welcome, people):
    webhook_app.config["SMTP_URL"] = smtp_server.url
    subscribe(receiver, "message.opened", "message.clicked", "message.bounced")
    message = queue(welcome, people.jan, people.admin)
    mail.deliver_batch([message.id])
    tracking.record_open(message.token, tracking.Hit(user_agent="Mozilla/5.0", client_ip="1.2.3.4"))
    tracking.record_click(message, 0, tracking.Hit(user_agent="Mozilla/5.0", client_ip="1.2.3.4"))
    tracking.flush()
    from designer.mail import bounces

    bounces.record_bounce(message, None, hard=True, status="5.1.1", diagnostic="no such user")
    assert deliver_all()["delivered"] == 3
    got = {payload["type"]: payload["data"] for _, payload in receiver.deliveries}
    assert got["message.opened"]["to"] == "jan@devries.example"
    assert got["message.clicked"]["url"] == "https://example.com/start"
    assert got["message.bounced"]["kind"] == "hard" and got["message.bounced"]["status"] == "5.1.1"


def test_a_rolled_back_change_sends_nothing(webhook_app, receiver):
    subscribe(receiver, "contact.unsubscribed")
    assert mail.suppress("x@example.nl")
    assert not mail.suppress("x@example.nl")  # already there: rolled back
    assert len(deliveries()) == 1


def test_the_body_is_the_signed_json(webhook_app, receiver):
    subscribe(receiver, "contact.unsubscribed")
    mail.suppress("zoë@example.nl")
    deliver_all()
    [(headers, body)] = receiver.requests
    assert json.loads(body)["data"]["email"] == "zoë@example.nl"
    assert headers["Content-Type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")


def test_opens_and_clicks_of_one_flush_are_posted_each_with_its_own_message(
    webhook_app, receiver, smtp_server, welcome, people
):
    webhook_app.config["SMTP_URL"] = smtp_server.url
    subscribe(receiver, "message.opened", "message.clicked")
    jan, emma = (queue(welcome, person, people.admin) for person in (people.jan, people.emma))
    mail.deliver_batch([jan.id, emma.id])
    hit = tracking.Hit(user_agent="Mozilla/5.0 (X11; Linux x86_64)", client_ip="203.0.113.5")
    before = clock.utcnow()
    tracking.record_open(jan.token, hit)
    tracking.record_click(emma, 0, hit)
    tracking.record_open(emma.token, tracking.Hit(method="HEAD", user_agent="Mozilla/5.0"))
    assert tracking.flush() == 3
    assert deliver_all()["delivered"] == 3
    got = sorted(
        (payload["type"], payload["data"]["message_id"], payload["data"])
        for _, payload in receiver.deliveries
    )
    assert [(kind, message_id) for kind, message_id, _ in got] == sorted(
        [("message.opened", jan.id), ("message.opened", emma.id), ("message.clicked", emma.id)]
    )
    data = {(kind, message_id): item for kind, message_id, item in got}
    opened, scanned = data["message.opened", jan.id], data["message.opened", emma.id]
    assert opened["to"] == "jan@devries.example" and scanned["to"] == "emma@devries.example"
    assert opened["classification"] == "prefetch"  # within seconds of sending
    assert scanned["classification"] == "scanner"  # a HEAD request
    assert "link_index" not in opened and "url" not in opened
    assert abs(datetime.fromisoformat(opened["at"]) - before) < timedelta(seconds=5)
    clicked = data["message.clicked", emma.id]
    assert clicked["to"] == "emma@devries.example"
    assert (clicked["link_index"], clicked["url"]) == (0, "https://example.com/start")

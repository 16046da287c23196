"""Settings → Webhooks: administrators only, CSRF on every form, the secret shown once,
a paginated delivery log and a test event a real receiver verifies."""

import re

import pytest
from support import csrf_token

from designer import webhooks
from designer.clock import utcnow
from designer.extensions import db
from designer.webhooks.emitter import new_row
from designer.webhooks.models import WebhookDelivery, WebhookEndpoint


def add_form(token, url, *types):
    return {"csrf_token": token, "url": url, "description": "vtiger", "event_types": list(types)}


def test_add_an_endpoint_and_see_its_secret_once(webhook_app, admin_client, receiver):
    token = csrf_token(admin_client, "/settings/webhooks")
    page = admin_client.post(
        "/settings/webhooks", data=add_form(token, receiver.url, "message.sent", "message.opened")
    )
    assert page.status_code == 200
    secret = re.search(r'id="new-secret">(whsec_[^<]+)<', page.text).group(1)
    [endpoint] = db.session.scalars(db.select(WebhookEndpoint)).all()
    assert endpoint.event_types == ["message.sent", "message.opened"]
    assert secret not in endpoint.secret_encrypted
    listing = admin_client.get("/settings/webhooks").text
    assert secret not in listing and receiver.url in listing


def test_a_bad_endpoint_keeps_the_form_and_says_why(app, admin_client):
    app.config["ALLOWED_WEBHOOK_HOSTS"] = "127.0.0.2"
    token = csrf_token(admin_client, "/settings/webhooks")
    page = admin_client.post(
        "/settings/webhooks", data=add_form(token, "http://10.0.0.5/hook", "message.sent")
    )
    assert page.status_code == 400
    assert "10.0.0.5 is a private address" in page.text and "ALLOWED_WEBHOOK_HOSTS" in page.text
    assert 'value="http://10.0.0.5/hook"' in page.text
    none = admin_client.post("/settings/webhooks", data=add_form(token, "http://127.0.0.2/h"))
    assert none.status_code == 400 and "choose at least one event" in none.text
    odd = admin_client.post(
        "/settings/webhooks", data=add_form(token, "http://127.0.0.2/h", "spaceship.landed")
    )
    assert odd.status_code == 400 and "unknown event type" in odd.text
    assert db.session.scalar(db.select(db.func.count(WebhookEndpoint.id))) == 0


def test_send_test_event_is_verified_by_the_receiver(webhook_app, admin_client, receiver):
    endpoint, receiver.secret = webhooks.create_endpoint(receiver.url, ["message.sent"])
    token = csrf_token(admin_client, f"/settings/webhooks/{endpoint.id}")
    page = admin_client.post(
        f"/settings/webhooks/{endpoint.id}/test", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Test event delivered: the endpoint answered 200" in page.text
    [(_, payload)] = receiver.deliveries
    assert payload["type"] == "webhook.test" and payload["data"]["sent_by"]
    assert "webhook.test" in page.text and "delivered" in page.text


def test_a_failed_test_event_says_why(webhook_app, admin_client, receiver):
    endpoint, receiver.secret = webhooks.create_endpoint(receiver.url, ["message.sent"])
    receiver.answers = [500]
    token = csrf_token(admin_client, f"/settings/webhooks/{endpoint.id}")
    page = admin_client.post(
        f"/settings/webhooks/{endpoint.id}/test", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Test event not delivered: answered 500 Internal Server Error" in page.text
    [delivery] = db.session.scalars(db.select(WebhookDelivery)).all()
    assert delivery.state == "failed"  # a test is not retried
    assert webhooks.get_endpoint(endpoint.id).failing_since is None


def test_the_delivery_log_is_paginated(webhook_app, admin_client, receiver):
    endpoint, _ = webhooks.create_endpoint(receiver.url, ["message.sent"])
    now = utcnow()
    rows = [new_row(endpoint.id, "message.sent", {"n": n}, now) for n in range(60)]
    db.session.execute(db.insert(WebhookDelivery), rows)
    db.session.commit()
    first = admin_client.get(f"/settings/webhooks/{endpoint.id}").text
    assert first.count("<td><code>message.sent</code></td>") == webhooks.LOG_PAGE_SIZE
    assert "page=2" in first
    second = admin_client.get(f"/settings/webhooks/{endpoint.id}?page=2").text
    assert second.count("<td><code>message.sent</code></td>") == 10 and "page=3" not in second
    assert admin_client.get(f"/settings/webhooks/{endpoint.id}?page=x").status_code == 200
    assert (
        admin_client.get(f"/settings/webhooks/{endpoint.id}?page=999999999999").status_code == 200
    )


def test_edit_switch_off_and_remove(webhook_app, admin_client, receiver):
    endpoint, _ = webhooks.create_endpoint(receiver.url, ["message.sent"])
    path = f"/settings/webhooks/{endpoint.id}"
    token = csrf_token(admin_client, path)
    saved = admin_client.post(path, data=add_form(token, receiver.url, "campaign.finished"))
    assert saved.status_code == 302
    assert webhooks.subscribers("campaign.finished") == (endpoint.id,)
    assert webhooks.subscribers("message.sent") == ()
    admin_client.post(f"{path}/disable", data={"csrf_token": token})
    assert webhooks.subscribers("campaign.finished") == ()
    page = admin_client.get(path).text
    assert "Switched off by an administrator" in page
    assert "switched off after a day" not in page  # by hand: no alarm
    admin_client.post(f"{path}/enable", data={"csrf_token": token})
    assert webhooks.subscribers("campaign.finished") == (endpoint.id,)
    admin_client.post(f"{path}/delete", data={"csrf_token": token})
    assert admin_client.get(path).status_code == 404


ROUTES = [
    ("get", "/settings/webhooks"),
    ("post", "/settings/webhooks"),
    ("get", "/settings/webhooks/{id}"),
    ("post", "/settings/webhooks/{id}"),
    ("post", "/settings/webhooks/{id}/test"),
    ("post", "/settings/webhooks/{id}/enable"),
    ("post", "/settings/webhooks/{id}/disable"),
    ("post", "/settings/webhooks/{id}/delete"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_is_for_administrators(webhook_app, marketer_client, receiver, method, path):
    endpoint, _ = webhooks.create_endpoint(receiver.url, ["message.sent"])
    token = csrf_token(marketer_client, "/templates")
    url = path.format(id=endpoint.id)
    kwargs = {"data": add_form(token, receiver.url, "message.sent")} if method == "post" else {}
    assert getattr(marketer_client, method)(url, **kwargs).status_code == 403
    assert receiver.requests == []
    assert webhooks.get_endpoint(endpoint.id).event_types == ["message.sent"]


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] == "post"])
def test_forms_without_csrf_token_are_refused(webhook_app, admin_client, receiver, method, path):
    endpoint, _ = webhooks.create_endpoint(receiver.url, ["message.sent"])
    url = path.format(id=endpoint.id)
    answer = admin_client.post(url, data={"url": receiver.url, "event_types": ["message.sent"]})
    assert answer.status_code == 400
    assert receiver.requests == [] and webhooks.get_endpoint(endpoint.id).enabled


def test_a_logged_out_visitor_is_sent_to_log_in(client, demo):
    assert client.get("/settings/webhooks").status_code in (302, 401)

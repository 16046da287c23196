"""Behind a reverse proxy: the client's address (pages, clicks, the pixel) comes from
``X-Forwarded-For`` only when the request came through a trusted proxy."""

import http.client
from datetime import timedelta

import pytest
from flask import request
from support import pixel_path, wait_for

from designer import create_app, mail, tracking
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.links import signer_for
from designer.tracking.models import TrackingEvent

PROXIES = "10.0.0.1, 10.9.0.0/16"
FORWARDED = {
    "X-Forwarded-For": "198.51.100.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "designer.example.com",
}


@pytest.fixture
def proxied(app_with):
    """An app behind proxies, with a page that shows who it thinks the client is."""
    proxied = app_with(TRUSTED_PROXIES=PROXIES)

    @proxied.get("/test/client")
    def client_seen():
        return {"address": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return proxied


def seen(app, remote, headers):
    response = app.test_client().get(
        "/test/client", headers=headers, environ_base={"REMOTE_ADDR": remote}
    )
    return response.get_json()


def test_a_trusted_proxy_says_who_the_client_is(proxied):
    assert seen(proxied, "10.0.0.1", FORWARDED) == {
        "address": "198.51.100.7",
        "scheme": "https",
        "host": "designer.example.com",
    }


def test_a_proxy_seen_through_a_dual_stack_listener_is_trusted(proxied):
    assert seen(proxied, "::ffff:10.0.0.1", FORWARDED)["address"] == "198.51.100.7"


def test_anyone_else_cannot_choose_their_address(proxied):
    assert seen(proxied, "192.0.2.50", FORWARDED) == {
        "address": "192.0.2.50",
        "scheme": "http",
        "host": "localhost",
    }


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        ("198.51.100.7, 10.9.3.4", "198.51.100.7"),  # a CDN in 10.9/16, then the proxy
        ("10.9.3.4, 203.0.113.9", "203.0.113.9"),  # a client posing as the CDN
        ("1.2.3.4, 203.0.113.9", "203.0.113.9"),  # a client's own header, then the real hop
        ("10.9.3.4", "10.9.3.4"),  # an internal client
    ],
)
def test_forwarded_for_is_read_from_the_right_past_trusted_proxies(proxied, forwarded_for, client):
    assert seen(proxied, "10.0.0.1", {"X-Forwarded-For": forwarded_for})["address"] == client


def test_a_bad_entry_stops_the_start_and_is_named(base_config):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES: “nginx” is not an address"):
        create_app({**base_config, "TRUSTED_PROXIES": "127.0.0.1, nginx"})


@pytest.fixture
def sent(app, welcome, people):
    message = mail.queue_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, enqueue=False
    )
    message.state, message.sent_at = "sent", utcnow() - timedelta(hours=1)
    db.session.commit()
    return message


def networks(message):
    tracking.flush()
    query = (
        db.select(TrackingEvent.kind, TrackingEvent.client_network)
        .where(TrackingEvent.message_id == message.id)
        .order_by(TrackingEvent.id)
    )
    return [tuple(row) for row in db.session.execute(query)]


@pytest.mark.parametrize(
    ("remote", "network"), [("10.0.0.1", "198.51.100.0/24"), ("192.0.2.50", "192.0.2.0/24")]
)
def test_opens_and_clicks_are_stored_under_the_clients_network(
    app, app_with, sent, remote, network
):
    client = app_with(TRUSTED_PROXIES=PROXIES).test_client()
    click = signer_for(app).url(sent.token, 0)
    for path in (pixel_path(app, sent.token), click[click.index("/c/") :]):
        client.get(path, headers=FORWARDED, environ_base={"REMOTE_ADDR": remote})
    assert networks(sent) == [("open", network), ("click", network)]


def test_without_trusted_proxies_the_headers_count_for_nothing(app, client, sent):
    client.get(
        pixel_path(app, sent.token), headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    )
    assert networks(sent) == [("open", "10.0.0.0/24")]


# Through gunicorn, as deployed ----------------------------------------------------------


def served_app(served):
    """An app of our own on the served product's database, Redis and secret."""
    instance = served.instance
    return create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'designer.db'}",
            "REDIS_URL": f"unix://{instance / 'redis.sock'}",
            "PUBLIC_URL": served.url,
            "SECRET_KEY": (instance / "secret_key").read_text().strip(),
        }
    )


def demo_message():
    from designer.records import Contact, User
    from designer.templating import Template

    template = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    contact = db.session.scalar(db.select(Contact).where(Contact.email != "").limit(1))
    admin = db.session.scalar(db.select(User).where(User.role == "admin").limit(1))
    message = mail.queue_message(
        template, module="contact", record=contact, sender_user=admin, enqueue=False
    )
    message.state, message.sent_at = "sent", utcnow() - timedelta(hours=1)
    db.session.commit()
    return message


def open_pixel(served, path, source):
    """GET the pixel from ``source`` (an address of this machine), saying it forwards a client."""
    conn = http.client.HTTPConnection(
        "127.0.0.1", served.port, timeout=10, source_address=(source, 0)
    )
    try:
        conn.request("GET", path, headers={"X-Forwarded-For": "198.51.100.7"})
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_through_gunicorn_only_the_trusted_proxy_is_believed(served_behind_proxy):
    app = served_app(served_behind_proxy)
    with app.app_context():
        message = demo_message()
        path = pixel_path(app, message.token)
        open_pixel(served_behind_proxy, path, "127.0.0.1")  # the proxy
        open_pixel(served_behind_proxy, path, "127.0.0.2")  # someone else on this machine
        query = db.select(TrackingEvent.client_network).where(
            TrackingEvent.message_id == message.id
        )
        assert wait_for(lambda: len(db.session.scalars(query).all()) == 2, timeout=20)
        assert sorted(db.session.scalars(query)) == ["127.0.0.0/24", "198.51.100.0/24"]
        db.engine.dispose()

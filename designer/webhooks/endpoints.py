"""Endpoints: the URLs administrators subscribe, their secrets and their delivery log."""

import base64
import secrets

from flask import current_app
from flask_babel import gettext as _

from designer import clock
from designer.crypto import encrypt
from designer.extensions import db
from designer.webhooks import emitter, transport
from designer.webhooks.models import WebhookDelivery, WebhookEndpoint

#: Deliveries shown on one page of an endpoint's log.
LOG_PAGE_SIZE = 50


class InvalidEndpoint(ValueError):
    """The endpoint cannot be saved; ``field`` names what is wrong."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def new_secret():
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _checked(url, event_types, description):
    try:
        url = transport.check_url(url, current_app.config)
    except transport.BadUrl as exc:
        raise InvalidEndpoint("url", str(exc)) from None
    chosen = [t for t in emitter.EVENT_TYPES if t in set(event_types or ())]
    unknown = set(event_types or ()) - set(emitter.EVENT_TYPES)
    if unknown:
        raise InvalidEndpoint(
            "event_types", _("unknown event type %(type)r", type=sorted(unknown)[0])
        )
    if not chosen:
        raise InvalidEndpoint("event_types", _("choose at least one event"))
    description = (description or "").strip()
    if len(description) > 200:
        raise InvalidEndpoint("description", _("a description is at most 200 characters"))
    return url, chosen, description


def create_endpoint(url, event_types, description=""):
    """A new endpoint; ``(endpoint, secret)`` (the secret is shown once)."""
    url, chosen, description = _checked(url, event_types, description)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=url, event_types=chosen, description=description, secret_encrypted=encrypt(secret)
    )
    db.session.add(endpoint)
    db.session.commit()
    emitter.forget_subscriptions()
    return endpoint, secret


def update_endpoint(endpoint, url, event_types, description=""):
    endpoint.url, endpoint.event_types, endpoint.description = _checked(
        url, event_types, description
    )
    db.session.commit()
    emitter.forget_subscriptions()
    return endpoint


def switch_on(endpoint):
    """Deliver again: its pending deliveries are due now (the retry window still holds)."""
    now = clock.utcnow()
    endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason = True, None, ""
    endpoint.failing_since = None
    pending = db.select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.state == "pending"
    )
    ids = []
    for delivery in db.session.scalars(pending):
        delivery.next_attempt_at, delivery.lease_until = now, None
        ids.append(delivery.webhook_id)
    db.session.commit()
    emitter.forget_subscriptions()
    if ids:
        emitter.enqueue(ids)


def switch_off_by_hand(endpoint):
    endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason = False, clock.utcnow(), ""
    db.session.commit()
    emitter.forget_subscriptions()


def delete_endpoint(endpoint):
    db.session.execute(db.delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()
    emitter.forget_subscriptions()


def list_endpoints():
    return db.session.scalars(db.select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()


def get_endpoint(endpoint_id):
    return db.session.get(WebhookEndpoint, endpoint_id)


def switched_off():
    """Endpoints switched off after a day of failures (not by hand): admins are told."""
    query = db.select(WebhookEndpoint).where(
        WebhookEndpoint.enabled.is_(False), WebhookEndpoint.disabled_reason != ""
    )
    return db.session.scalars(query.order_by(WebhookEndpoint.id)).all()


def delivery_log(endpoint, page=1):
    """``(deliveries, has_more)``: one page of the endpoint's deliveries, newest first."""
    page = max(int(page), 1)
    query = (
        db.select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
        .offset((page - 1) * LOG_PAGE_SIZE)
        .limit(LOG_PAGE_SIZE + 1)
    )
    rows = db.session.scalars(query).all()
    return rows[:LOG_PAGE_SIZE], len(rows) > LOG_PAGE_SIZE


def counts(endpoint):
    """``{state: number}`` of the endpoint's deliveries."""
    query = (
        db.select(WebhookDelivery.state, db.func.count())
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .group_by(WebhookDelivery.state)
    )
    return dict(db.session.execute(query).all())

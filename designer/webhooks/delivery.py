"""Delivering: claim a pending delivery, sign it, POST it, record what happened.

Signed per Standard Webhooks: ``webhook-id`` (the same on every attempt),
``webhook-timestamp`` (this attempt's) and ``webhook-signature: v1,<base64
HMAC-SHA256 of "<id>.<timestamp>.<body>">`` under the endpoint's secret. A 2xx
answer delivers; anything else is retried with exponential backoff
(``RETRY_BASE`` doubling up to ``RETRY_MAX``) until ``RETRY_WINDOW`` after the
event, then given up. An endpoint whose deliveries have all failed for
``SWITCH_OFF_AFTER`` is switched off, which its page and every administrator's
page then say. A worker claims a delivery with a lease, so the job queued when
it was written and the scheduler's sweep (``dispatch_due``) never send it twice
at once.
"""

import base64
import hashlib
import hmac
import logging
from datetime import UTC, timedelta

from flask import current_app
from sqlalchemy import or_, update

from designer import clock
from designer.crypto import decrypt
from designer.extensions import db
from designer.webhooks import emitter, transport
from designer.webhooks.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=4)
#: How long a delivery is retried after its event.
RETRY_WINDOW = timedelta(hours=24)
#: An endpoint failing every delivery for this long is switched off.
SWITCH_OFF_AFTER = timedelta(hours=24)
#: How long a worker holds a delivery it is sending.
LEASE = timedelta(seconds=60)
#: Deliveries the sweep queues at a time.
SWEEP_LIMIT = 1000


def sign(secret, webhook_id, timestamp, body):
    """The ``webhook-signature`` value of ``body`` (text) sent at ``timestamp``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body.encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers_for(delivery, secret, now):
    timestamp = int(now.replace(tzinfo=UTC).timestamp())
    return {
        "Content-Type": "application/json",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, delivery.webhook_id, timestamp, delivery.body),
    }


def deliver_many(webhook_ids):
    """Deliver each of ``webhook_ids`` that is due and not taken; counts by outcome."""
    done = {"delivered": 0, "failed": 0, "skipped": 0}
    failing = {}  # endpoint id -> its error: one failure is enough for this job
    with transport.client(current_app.config) as http:
        for webhook_id in webhook_ids:
            delivery = _claim(webhook_id)
            if delivery is None:
                done["skipped"] += 1
                continue
            if delivery.endpoint_id in failing:
                _postpone(delivery)
                done["skipped"] += 1
                continue
            answer = attempt(delivery, http)
            if not answer.ok:
                failing[delivery.endpoint_id] = answer.error
            done["delivered" if answer.ok else "failed"] += 1
    return done


def _claim(webhook_id, now=None):
    now = now or clock.utcnow()
    enabled = db.select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == webhook_id,
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            WebhookDelivery.endpoint_id.in_(enabled),
        )
        .values(lease_until=now + LEASE),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    if claimed.rowcount != 1:
        return None
    return db.session.scalar(
        db.select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    )


def _postpone(delivery):
    """Not tried: its endpoint just failed in this job; due again with the next retry."""
    delivery.lease_until = None
    delivery.next_attempt_at = clock.utcnow() + _backoff(max(delivery.attempts, 1))
    db.session.commit()


def attempt(delivery, http, now=None):
    """Send ``delivery`` once and record the outcome; the endpoint's ``Answer``."""
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    now = now or clock.utcnow()
    secret = decrypt(endpoint.secret_encrypted)
    answer = transport.post(http, endpoint.url, delivery.body, headers_for(delivery, secret, now))
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.lease_until = now, None
    delivery.response_code = answer.status
    if answer.ok:
        _delivered(delivery, endpoint, now)
    elif delivery.event_type == emitter.TEST_EVENT:
        delivery.state, delivery.error = "failed", answer.error  # a test is never retried
    else:
        _failed(delivery, endpoint, answer.error, now)
    db.session.commit()
    return answer


def _delivered(delivery, endpoint, now):
    delivery.state, delivery.error, delivery.delivered_at = "delivered", "", now
    delivery.next_attempt_at = None
    if delivery.event_type != emitter.TEST_EVENT:
        endpoint.failing_since = None


def _failed(delivery, endpoint, error, now):
    delivery.error = error
    if now - delivery.created_at >= RETRY_WINDOW:
        delivery.state, delivery.next_attempt_at = "failed", None
        delivery.error = f"gave up after {delivery.attempts} attempts in 24 hours: {error}"
    else:
        delivery.next_attempt_at = now + _backoff(delivery.attempts)
    endpoint.failing_since = endpoint.failing_since or now
    if endpoint.enabled and now - endpoint.failing_since >= SWITCH_OFF_AFTER:
        switch_off(endpoint, error, now)


def _backoff(attempts):
    return min(RETRY_BASE * 2 ** (attempts - 1), RETRY_MAX)


def switch_off(endpoint, error, now):
    """A day of failures: no more deliveries until an administrator switches it on."""
    endpoint.enabled, endpoint.disabled_at = False, now
    endpoint.disabled_reason = (
        f"switched off on {now:%Y-%m-%d %H:%M} UTC: every delivery since "
        f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC failed (last: {error})"
    )
    log.warning("webhook endpoint %s switched off: %s", endpoint.id, endpoint.disabled_reason)
    emitter.forget_subscriptions()


def dispatch_due(now=None):
    """Queue every pending delivery that is due and not taken; how many."""
    now = now or clock.utcnow()
    query = (
        db.select(WebhookDelivery.webhook_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            WebhookEndpoint.enabled.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(SWEEP_LIMIT)
    )
    webhook_ids = list(db.session.scalars(query))
    db.session.commit()
    if webhook_ids:
        emitter.enqueue(webhook_ids)
    return len(webhook_ids)


def send_test_event(endpoint, user_name=""):
    """Deliver a ``webhook.test`` event to ``endpoint`` now; the delivery row."""
    now = clock.utcnow()
    data = {"message": "A test event from Designer", "sent_by": user_name}
    row = emitter.new_row(endpoint.id, emitter.TEST_EVENT, data, now)
    delivery = WebhookDelivery(**row)
    db.session.add(delivery)
    db.session.commit()
    with transport.client(current_app.config) as http:
        attempt(delivery, http, now)
    return delivery

"""Emitting: a part says what happened; each subscribed endpoint gets a delivery row.

Emitting must cost next to nothing when nobody listens: which endpoints subscribe
to which event types is cached per process for ``CACHE_SECONDS`` (and dropped at
once when this process changes an endpoint), so an event type nobody subscribes
to costs a dictionary look-up. With subscribers, the rows are written in the
caller's transaction (committed, or rolled back, with what happened) and their
ids go on the ``webhooks`` queue once it commits. Nothing here raises into the
caller because of Redis: a delivery whose job could not be queued is found by the
scheduler's sweep (``delivery.dispatch_due``).
"""

import json
import logging
import time
import uuid
from datetime import UTC

from flask import current_app
from sqlalchemy import bindparam, event, insert

from designer import broker, clock
from designer.extensions import db
from designer.webhooks.models import WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

#: Every event type an endpoint may subscribe to, with what it means.
EVENT_TYPES = {
    "message.sent": "a message left for its recipient (the mail server accepted it)",
    "message.opened": "a recipient opened a message (the tracking pixel was loaded)",
    "message.clicked": "a recipient clicked a tracked link",
    "message.bounced": "a message bounced (hard or soft)",
    "contact.unsubscribed": "an address unsubscribed",
    "campaign.finished": "a campaign sent its last message",
    "workflow.run_failed": "a workflow run failed",
}
#: Sent only by "Send test event", to one endpoint.
TEST_EVENT = "webhook.test"
#: How long a process trusts what it knows of the subscriptions.
CACHE_SECONDS = 5
#: Deliveries one job carries.
JOB_SIZE = 50
_PENDING = "webhooks_to_queue"


def emit(event_type, data, writer=None):
    """Record ``event_type`` with ``data`` for every endpoint subscribed to it; how many."""
    return emit_many(event_type, [data], writer)


def emit_many(event_type, items, writer=None):
    """Like ``emit``, one event per item of ``items`` (one insert for them all).

    Without ``writer`` the rows join the session's transaction and are queued when it
    commits. With a ``writer`` (an object with ``execute(statement, params)`` and
    ``wait()``, such as mail's recorder) they are written through it and queued once
    it has committed them.
    """
    endpoint_ids = subscribers(event_type)
    if not endpoint_ids or not items:
        return 0
    now = clock.utcnow()
    rows = [
        new_row(endpoint_id, event_type, data, now)
        for data in items
        for endpoint_id in endpoint_ids
    ]
    if writer is None:
        db.session.execute(insert(WebhookDelivery.__table__), rows)
        _queue_on_commit(db.session(), [row["webhook_id"] for row in rows])
    else:
        statement = _writer_insert(tuple(rows[0]))
        for row in rows:
            writer.execute(statement, row)
        writer.wait()
        enqueue([row["webhook_id"] for row in rows])
    return len(rows)


_writer_inserts = {}


def _writer_insert(names):
    """One statement object per column set: a writer may prepare it once."""
    statement = _writer_inserts.get(names)
    if statement is None:
        values = {name: bindparam(name) for name in names}
        statement = insert(WebhookDelivery.__table__).inline().values(values)  # no RETURNING
        _writer_inserts[names] = statement
    return statement


def new_row(endpoint_id, event_type, data, now):
    """The values of a pending delivery of one event to one endpoint, due now."""
    return {
        "endpoint_id": endpoint_id,
        "webhook_id": f"msg_{uuid.uuid4().hex}",
        "event_type": event_type,
        "body": payload(event_type, data, now),
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "error": "",
        "created_at": now,
    }


def payload(event_type, data, now):
    """The JSON body: ``{"type", "timestamp", "data"}``, as Standard Webhooks suggests."""
    moment = now.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
    body = {"type": event_type, "timestamp": moment, "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)


def subscribers(event_type):
    """Ids of the enabled endpoints subscribed to ``event_type`` (cached briefly)."""
    cache = current_app.extensions.get("webhook_subscribers")
    if cache is None or cache[0] < time.monotonic():
        cache = (time.monotonic() + CACHE_SECONDS, _load_subscriptions())
        current_app.extensions["webhook_subscribers"] = cache
    return cache[1].get(event_type, ())


def forget_subscriptions():
    """This process changed an endpoint: read the subscriptions again on the next event."""
    current_app.extensions.pop("webhook_subscribers", None)


def _load_subscriptions():
    query = db.select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
        WebhookEndpoint.enabled.is_(True)
    )
    found = {}
    with db.session.no_autoflush:  # the caller's pending rows are the caller's to flush
        endpoints = db.session.execute(query).all()
    for endpoint_id, types in endpoints:
        for event_type in types or ():
            found.setdefault(event_type, []).append(endpoint_id)
    return {event_type: tuple(ids) for event_type, ids in found.items()}


def _queue_on_commit(session, webhook_ids):
    session.info.setdefault(_PENDING, []).extend(webhook_ids)
    if not event.contains(session, "after_commit", _after_commit):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)


def _after_commit(session):
    webhook_ids = session.info.pop(_PENDING, None)
    if webhook_ids:
        enqueue(webhook_ids)


def _after_rollback(session):
    session.info.pop(_PENDING, None)


def enqueue(webhook_ids):
    """Queue the deliveries ``webhook_ids`` (in jobs of ``JOB_SIZE``); never raises."""
    chunks = [webhook_ids[i : i + JOB_SIZE] for i in range(0, len(webhook_ids), JOB_SIZE)]
    try:
        broker.enqueue_many(broker.WEBHOOKS, broker.DELIVER_WEBHOOKS, [[c] for c in chunks])
    except Exception:  # the scheduler's sweep delivers them a little later
        log.warning("webhook deliveries not queued; the sweep will send them", exc_info=True)

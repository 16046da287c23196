"""The hit buffer: opens and clicks go to a Redis list in the request, to the database in batches.

A pixel or click request does one ``RPUSH`` and no database work, so a burst
of hits never queues up on a hot message row or a table lock. ``flush()``
(run every few seconds by the scheduler, and before a page shows counts)
moves the list aside with ``RENAME``, writes its hits as events and adds them
to the messages' counters through mail (``designer.mail.counters``: one
``UPDATE`` per message per batch, in the same transaction), then trims what
it wrote. Every hit carries a random key that is unique in the events table,
and hits whose key is already stored are left out, so a flush interrupted at
any point (a killed process, a lost connection) is simply run again: no hit
is lost and none is counted twice.
"""

import json
import secrets
import time
import uuid
from datetime import UTC, datetime

from flask import current_app
from redis.exceptions import ResponseError

from designer import webhooks
from designer.broker import get_redis
from designer.extensions import db, insert_ignoring
from designer.mail import counters, get_message, link_target
from designer.networks import client_network
from designer.tracking.classify import classify
from designer.tracking.models import TrackingEvent
from designer.tracking.pusher import HitPusher

PENDING = "designer:tracking:hits"
FLUSHING = "designer:tracking:hits:flushing"
LOCK = "designer:tracking:flush-lock"
LOCK_MS = 60_000
CHUNK = 5_000
#: Rounds of "take what is pending" per flush, so a flush ends under steady load.
ROUNDS = 4
#: How often a waiting flush asks whether the running one has ended, in seconds.
LOCK_POLL_SECONDS = 0.02


def push(kind, message_token, hit, link_index=None, app=None):
    """Buffer one hit (``kind`` "open" or "click") of the message with ``message_token``.

    Returns once the hit is in Redis (True), or False when Redis could not take it.
    """
    record = [
        secrets.token_hex(8),  # pragma: no mutate - equivalent: any random key this long
        kind,
        message_token,
        link_index,
        time.time(),
        hit.method,
        hit.client_ip,
        hit.user_agent[:500],
    ]
    compact = json.dumps(record, separators=(",", ":"))  # pragma: no mutate - equivalent: size
    return pusher_for(app or current_app).push(compact)


def pusher_for(app):
    """The app's ``HitPusher`` (one writer thread per process)."""
    pusher = app.extensions.get("hit_pusher")
    if pusher is None:
        pusher = app.extensions["hit_pusher"] = HitPusher(app.extensions["redis"], PENDING)
    return pusher


def pending():
    """Hits buffered and not yet written."""
    redis = get_redis()
    return redis.llen(PENDING) + redis.llen(FLUSHING)


def flush(wait=0.0):
    """Write buffered hits as events and counters; return how many were counted.

    Another flush running (the scheduler's) holds hits it moved aside and has not
    committed yet: ``wait`` seconds, this one waits for it to end and then writes
    what is left, so that a page showing counts right after a hit sees it.
    """
    redis = get_redis()
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    while not redis.set(LOCK, owner, nx=True, px=LOCK_MS):
        if time.monotonic() >= deadline:  # pragma: no mutate - `>` polls once more, 20 ms
            return 0
        time.sleep(LOCK_POLL_SECONDS)
    try:
        return sum(_flush_round(redis) for _ in range(ROUNDS))
    finally:
        if redis.get(LOCK) == owner.encode():
            redis.delete(LOCK)


def _flush_round(redis):
    if not redis.exists(FLUSHING):
        try:
            redis.rename(PENDING, FLUSHING)
        except ResponseError:  # nothing pending
            return 0
    counted = 0
    while items := redis.lrange(FLUSHING, 0, CHUNK - 1):
        counted += _store(items)
        redis.ltrim(FLUSHING, len(items), -1)
        redis.pexpire(LOCK, LOCK_MS)
    return counted


def _store(items):
    hits = [json.loads(item) for item in items]
    messages = counters.messages_by_token({hit[2] for hit in hits})
    rows = [_event_row(hit, messages[hit[2]]) for hit in hits if hit[2] in messages]
    if not rows:
        return 0
    rows = _not_stored_yet(rows)
    if rows:
        db.session.execute(_insert_events(), rows)  # executemany: prepared, pipelined
        counters.add_counts(_counters(rows))
        _emit_hits(rows)  # committed with the events
    db.session.commit()
    return len(rows)


#: The webhook event type of each kind of hit.
HIT_EVENTS = {"open": "message.opened", "click": "message.clicked"}


def _emit_hits(rows):
    """Tell the subscribed webhooks of the opens and clicks just stored."""
    wanted = {kind: name for kind, name in HIT_EVENTS.items() if webhooks.subscribers(name)}
    hits = [row for row in rows if row["kind"] in wanted]
    if not hits:
        return
    recipients = counters.recipients_of({row["message_id"] for row in hits})
    for kind, event_type in wanted.items():
        items = [_hit_data(row, recipients) for row in hits if row["kind"] == kind]
        webhooks.emit_many(event_type, items)


def _hit_data(row, recipients):
    data = {
        "message_id": row["message_id"],
        "to": recipients.get(row["message_id"], ""),
        "at": row["at"].isoformat(),
        "classification": row["classification"],
    }
    if row["kind"] == "click":
        message = get_message(row["message_id"])
        data["link_index"] = row["link_index"]
        data["url"] = link_target(message, row["link_index"] or 0) if message else None
    return data


def _not_stored_yet(rows):
    """The rows whose hit is not in the events table (a repeated flush stored it before).

    Only one flush runs at a time (``LOCK``), so nothing else inserts these keys
    meanwhile; the insert still ignores a key already there.
    """
    keys = [row["hit_key"] for row in rows]
    stored = set(
        db.session.scalars(db.select(TrackingEvent.hit_key).where(TrackingEvent.hit_key.in_(keys)))
    )
    return [row for row in rows if row["hit_key"] not in stored]


def _event_row(hit, message):
    key, kind, _, link_index, at, method, client_ip, user_agent = hit
    message_id, sent_at = message
    at = datetime.fromtimestamp(at, UTC).replace(tzinfo=None)
    since = (at - sent_at).total_seconds() if sent_at else None
    return {
        "hit_key": key,
        "message_id": message_id,
        "kind": kind,
        "link_index": link_index,
        "at": at,
        "user_agent": user_agent,
        "client_network": client_network(client_ip),
        "classification": classify(
            method=method, user_agent=user_agent, client_ip=client_ip, seconds_after_send=since
        ),
    }


def _insert_events():
    return insert_ignoring(db.engine.dialect.name, TrackingEvent.__table__, ("hit_key",))


def _counters(rows):
    """One parameter set per message: how much to add, first and last open."""
    totals = {}
    for row in rows:
        message_id, kind, classification, at = (
            row["message_id"],
            row["kind"],
            row["classification"],
            row["at"],
        )
        entry = totals.setdefault(
            message_id,
            {
                "mid": message_id,
                "opens": 0,
                "human_opens": 0,
                "clicks": 0,
                "human_clicks": 0,
                "first": None,
                "last": None,
            },
        )
        human = classification == "human"
        if kind == "open":
            entry["opens"] += 1
            entry["human_opens"] += human
            entry["first"] = min(entry["first"] or at, at)
            entry["last"] = max(entry["last"] or at, at)
        else:
            entry["clicks"] += 1
            entry["human_clicks"] += human
    return sorted(totals.values(), key=lambda entry: entry["mid"])

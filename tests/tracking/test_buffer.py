"""The hit buffer at its bounds: flushed in chunks with nothing lost or counted twice,
each message's counters its own, what is stored of a hit (the user agent cut at 500
characters, the network, the time in UTC whatever the server's zone, prefetches told
apart), and a flush that finds another running."""

import time
from datetime import timedelta

import pytest
from support import sent_message

from designer import tracking
from designer.broker import get_redis
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.tracking import buffer
from designer.tracking.models import TrackingEvent

AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"


def open_of(message, agent=AGENT, ip="203.0.113.9"):
    assert buffer.push("open", message.token, tracking.Hit(user_agent=agent, client_ip=ip))


def events_of(message):
    db.session.expire_all()
    query = db.select(TrackingEvent).where(TrackingEvent.message_id == message.id)
    return db.session.scalars(query.order_by(TrackingEvent.id)).all()


def counts_of(message):
    db.session.expire_all()
    row = db.session.get(Message, message.id)
    return row.open_count, row.human_open_count, row.click_count


@pytest.fixture
def two(app, welcome, people):
    return (
        sent_message(welcome, people.jan, people.admin),
        sent_message(welcome, people.emma, people.admin),
    )


def test_a_flush_writes_every_hit_in_bounded_chunks_and_counts_them_all(monkeypatch, two):
    jan, emma = two
    monkeypatch.setattr(buffer, "CHUNK", 3)
    chunks, store = [], buffer._store

    def spy(items):
        chunks.append(len(items))
        assert 0 < get_redis().pttl(buffer.LOCK) <= buffer.LOCK_MS  # a dead flush lets go
        return store(items)

    monkeypatch.setattr(buffer, "_store", spy)
    for message in (jan, emma, jan, emma, jan, emma, jan):
        open_of(message)
    assert buffer.flush() == 7
    assert chunks == [3, 3, 1]
    assert buffer.pending() == 0
    assert counts_of(jan) == (4, 4, 0) and counts_of(emma) == (3, 3, 0)
    assert len(events_of(jan)) == 4 and len(events_of(emma)) == 3
    assert buffer.flush() == 0  # nothing twice


def test_a_click_and_an_open_of_two_messages_count_on_their_own_message(two):
    jan, emma = two
    open_of(jan)
    assert buffer.push("click", emma.token, tracking.Hit(user_agent=AGENT, client_ip="1.2.3.4"), 0)
    assert buffer.flush() == 2
    assert counts_of(jan) == (1, 1, 0) and counts_of(emma) == (0, 0, 1)
    [click] = events_of(emma)
    assert (click.kind, click.link_index) == ("click", 0)


def test_what_is_kept_of_a_hit(monkeypatch, app, welcome, people):
    message = sent_message(welcome, people.jan, people.admin)
    monkeypatch.setenv("TZ", "America/New_York")  # the server's zone: not what is stored
    time.tzset()
    try:
        before = utcnow()
        open_of(message, agent="A" * 600, ip="203.0.113.77")
        buffer.flush()
        after = utcnow()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    [event] = events_of(message)
    assert event.user_agent == "A" * 500
    assert event.client_network == "203.0.113.0/24"
    assert before - timedelta(seconds=1) <= event.at <= after + timedelta(seconds=1)
    assert event.classification == "human"


def test_an_open_right_after_sending_is_a_prefetch_and_one_later_is_not(app, welcome, people):
    fresh = sent_message(welcome, people.jan, people.admin, timedelta(seconds=1))
    older = sent_message(welcome, people.emma, people.admin)
    open_of(fresh)
    open_of(older)
    buffer.flush()
    assert [e.classification for e in events_of(fresh)] == ["prefetch"]
    assert [e.classification for e in events_of(older)] == ["human"]
    assert counts_of(fresh) == (1, 0, 0)  # counted, but not as a person


def test_one_pusher_per_app(app):
    assert buffer.pusher_for(app) is buffer.pusher_for(app)


def test_a_flush_that_finds_another_running_leaves_at_once_and_the_hits_wait(two):
    jan, _ = two
    open_of(jan)
    redis = get_redis()
    redis.set(buffer.LOCK, "the scheduler's flush", px=buffer.LOCK_MS)
    started = time.monotonic()
    assert buffer.flush() == 0
    assert time.monotonic() - started < 0.5  # no waiting unless asked to
    assert buffer.pending() == 1
    assert redis.get(buffer.LOCK) == b"the scheduler's flush"  # not ours to remove
    redis.delete(buffer.LOCK)
    assert buffer.flush() == 1

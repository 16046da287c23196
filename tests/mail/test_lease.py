"""Leases at their bounds: a claim takes exactly the rows named and due, a lease holds
until its end and not at it, renewal comes at a third of the lease and renews only
the rows still ours, in bounded UPDATEs, and the reaper takes back only expired rows
that are still being sent. The clocks are set by the tests, so each bound is met exactly."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event
from test_ledger import queue, reloaded

from designer.extensions import db
from designer.mail import lease as lease_module
from designer.mail.lease import claim_lease, requeue_expired_leases
from designer.mail.models import Message

NOW = datetime(2026, 3, 2, 9, 30, 0)
LEASE = 30


class Clock:
    """``time.monotonic`` as the lease module reads it, moved by the test."""

    def __init__(self, at=1000.0):
        self.at = at

    def __call__(self):
        return self.at


@pytest.fixture
def clock(app, monkeypatch):
    app.config["LEASE_SECONDS"] = LEASE
    ticking = Clock()
    monkeypatch.setattr(lease_module, "monotonic", ticking)
    return ticking


def frozen(monkeypatch, moment):
    monkeypatch.setattr(lease_module, "utcnow", lambda: moment)


def set_row(message, **values):
    db.session.execute(Message.__table__.update().where(Message.id == message.id).values(values))
    db.session.commit()


def test_a_lease_holds_until_just_before_its_end_and_not_at_it(clock, welcome, people):
    message = queue(welcome, people.jan, people.admin)
    lease = claim_lease([message.id])
    assert lease.ids == [message.id]
    clock.at += LEASE - 0.001
    assert lease.holds(message.id)
    clock.at += 0.001  # exactly its end
    assert not lease.holds(message.id)


def test_renewal_comes_at_a_third_of_the_lease_exactly_and_not_before(clock, welcome, people):
    message = queue(welcome, people.jan, people.admin)
    lease = claim_lease([message.id])
    first = lease.until
    for elapsed in (LEASE / 3.5, LEASE / 3 - 0.001):  # past a quarter, short of a third
        clock.at = 1000.0 + elapsed
        lease.renew_if_due(lambda: [message.id])
        assert lease.until == first and reloaded(message).lease_until == first
    clock.at = 1000.0 + LEASE / 3
    lease.renew_if_due(lambda: [message.id])
    assert lease.until > first and reloaded(message).lease_until == lease.until
    clock.at += LEASE - 0.001  # a whole lease from the renewal, not from the claim
    assert lease.holds(message.id)


def test_renewal_writes_every_open_row_in_bounded_updates(clock, monkeypatch, welcome, people):
    monkeypatch.setattr(lease_module, "RENEW_CHUNK", 2)
    messages = [queue(welcome, people.jan, people.admin) for _ in range(5)]
    ids = [message.id for message in messages]
    lease = claim_lease(ids)
    updates = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        clock.at += LEASE / 3
        lease.renew_if_due(lambda: ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(updates) == 3  # 2 + 2 + 1 rows
    assert all(reloaded(message).lease_until == lease.until for message in messages)
    assert all(lease.holds(i) for i in ids) and not lease.lost


def test_renewal_leaves_rows_not_asked_for_and_rows_no_longer_being_sent(clock, welcome, people):
    open_row, done_row, cancelled_row = (
        queue(welcome, person, people.admin) for person in (people.jan, people.emma, people.jan)
    )
    lease = claim_lease([open_row.id, done_row.id, cancelled_row.id])
    first = lease.until
    set_row(cancelled_row, state="cancelled")  # its lease_until kept, as a cancel leaves it
    clock.at += LEASE / 3
    lease.renew_if_due(lambda: [open_row.id, cancelled_row.id])
    assert reloaded(open_row).lease_until == lease.until > first
    assert reloaded(done_row).lease_until == first  # not asked for: not renewed
    assert reloaded(cancelled_row).lease_until == first
    assert reloaded(cancelled_row).state == "cancelled"
    assert lease.holds(open_row.id) and not lease.holds(cancelled_row.id)
    assert lease.lost == {cancelled_row.id}


def test_a_claim_takes_the_rows_named_that_are_due_now_and_no_other(
    clock, monkeypatch, welcome, people
):
    frozen(monkeypatch, NOW)
    due_now = queue(welcome, people.jan, people.admin, next_attempt_at=NOW)
    due_later = queue(
        welcome, people.emma, people.admin, next_attempt_at=NOW + timedelta(microseconds=1)
    )
    not_named = queue(welcome, people.jan, people.admin)
    lease = claim_lease([due_later.id, due_now.id])
    assert lease.ids == [due_now.id]
    assert lease.until == NOW + timedelta(seconds=LEASE)
    assert reloaded(due_now).state == "sending" and reloaded(due_now).attempts == 1
    assert reloaded(due_now).lease_until == NOW + timedelta(seconds=LEASE)
    assert reloaded(due_later).state == "queued" and reloaded(due_later).attempts == 0
    assert reloaded(not_named).state == "queued" and reloaded(not_named).lease_until is None


def test_the_reaper_takes_a_row_back_only_once_its_lease_has_ended(
    clock, monkeypatch, welcome, people
):
    frozen(monkeypatch, NOW)
    message = queue(welcome, people.jan, people.admin, enqueued_at=NOW)
    claim_lease([message.id])
    assert requeue_expired_leases() == 0  # just claimed: its lease ends in the future
    frozen(monkeypatch, NOW + timedelta(seconds=LEASE))
    assert requeue_expired_leases() == 0  # exactly at its end: not yet
    assert reloaded(message).state == "sending"
    frozen(monkeypatch, NOW + timedelta(seconds=LEASE, microseconds=1))
    assert requeue_expired_leases() == 1
    row = reloaded(message)
    assert (row.state, row.lease_until, row.enqueued_at, row.next_attempt_at) == (
        "queued",
        None,
        None,
        None,
    )
    assert row.attempts == 1  # the attempt the dead worker made still counts


def test_the_reaper_leaves_rows_that_are_no_longer_being_sent(clock, monkeypatch, welcome, people):
    frozen(monkeypatch, NOW)
    sent = queue(welcome, people.jan, people.admin)
    claim_lease([sent.id])
    set_row(sent, state="sent")  # finished; its old lease_until left on the row
    frozen(monkeypatch, NOW + timedelta(hours=1))
    assert requeue_expired_leases() == 0
    assert reloaded(sent).state == "sent"

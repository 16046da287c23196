"""Events posted at the same time are stored together, each answered as its own.

The INSERT of a first request is held back by a lock on ``events`` taken from
another connection, so the requests that come meanwhile wait for the next
batch, as they do behind a running INSERT in a burst. PostgreSQL only: the
intake batches there (on SQLite it writes in the request's session).
"""

import os
import signal
import threading
import time

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import DataError
from workflow_support import dutch_invoice_event

from designer.clock import utcnow
from designer.extensions import db
from designer.workflows import intake_batch
from designer.workflows.models import Event

#: A lead never handed on would hold every later request for ever: fail soon instead.
pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def batcher(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the intake batches its INSERTs on PostgreSQL only")
    return intake_batch.Batcher()


@pytest.fixture
def inserts(app):
    """The INSERTs sent to ``events``: how many rows each held."""
    sent = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO events"):
            sent.append(statement.count("%(source"))  # one placeholder per row

    event.listen(db.engine, "before_cursor_execute", note)
    yield sent
    event.remove(db.engine, "before_cursor_execute", note)


@pytest.fixture
def batches(app, batcher, base_config):
    """``batches(first, rest)``: ``first`` stored while ``events`` is locked, ``rest`` while
    its INSERT waits at the lock; what each store returned or raised, ``first``'s first."""
    url = base_config["DATABASE_URL"].replace("+psycopg", "")

    def run(first, rest, sizes=None):
        answers = [None] * (1 + len(rest))
        sizes = sizes or [100] * len(answers)
        with psycopg.connect(url) as lock:
            lock.execute("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE")
            threads = [_store_in_thread(app, batcher, first, sizes[0], answers, 0)]
            _wait_for(lambda: batcher.leading and not batcher.waiting)
            time.sleep(0.1)  # the leader's INSERT waits at the lock
            for index, item in enumerate(rest, 1):
                threads.append(_store_in_thread(app, batcher, item, sizes[index], answers, index))
                _wait_for(lambda n=index: len(batcher.waiting) == n)  # in this order
            lock.rollback()
        for thread in threads:
            thread.join(10)
        assert not batcher.leading and not batcher.waiting
        return answers

    return run


def _store_in_thread(app, batcher, item, size, answers, index):
    def store():
        with app.app_context():
            try:
                answers[index] = batcher.store(item, size)
            except Exception as exc:
                answers[index] = exc

    thread = threading.Thread(target=store)
    thread.start()
    return thread


def _wait_for(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def row(event_id, source="crm", kind="contact.created", record_ref="C-1"):
    module, action = kind.split(".")
    return {
        "source": source,
        "event_id": event_id,
        "type": kind,
        "module": module,
        "action": action,
        "record_ref": record_ref,
        "changes": {},
        "payload": {"id": event_id},
        "occurred_at": None,
        "received_at": utcnow(),
        "state": "received",
        "error": "",
    }


def stored(event_id, source="crm"):
    query = db.select(Event.id, Event.type).where(
        Event.source == source, Event.event_id == event_id
    )
    return tuple(db.session.execute(query).one())


def test_events_posted_while_an_insert_runs_are_stored_by_one_insert_after_it(batches, inserts):
    answers = batches(row("evt-0"), [row(f"evt-{i}") for i in range(1, 10)])
    assert inserts == [1, 9]
    assert answers == [(*stored(f"evt-{i}"), False) for i in range(10)]
    assert len({answer[0] for answer in answers}) == 10


def test_a_lone_event_is_stored_at_once_and_a_second_store_finds_the_lead_free(
    batcher, inserts, app
):
    first = batcher.store(row("evt-1"), 10)
    second = batcher.store(row("evt-2"), 10)
    assert (first, second) == ((*stored("evt-1"), False), (*stored("evt-2"), False))
    assert inserts == [1, 1]


def test_a_repeat_in_the_same_batch_or_of_an_earlier_one_is_a_duplicate_of_the_first(
    batches, inserts
):
    answers = batches(
        row("evt-1", kind="invoice.created"),
        [
            row("evt-2"),
            row("evt-2", kind="contact.updated"),  # the same id again: the first one counts
            row("evt-1", kind="contact.deleted"),  # stored by the batch before
            row("evt-1", source="other-crm"),  # another source's id: an event of its own
        ],
    )
    assert inserts == [1, 4]
    one, two = stored("evt-1"), stored("evt-2")
    assert one[1] == "invoice.created" and two[1] == "contact.created"
    assert answers == [(*one, False), (*two, False), (*two, True), (*one, True)] + [
        (*stored("evt-1", "other-crm"), False)
    ]
    assert db.session.scalar(db.select(db.func.count(Event.id))) == 3


def test_an_event_the_database_refuses_fails_alone_and_its_batch_is_stored_one_by_one(
    batches, inserts
):
    answers = batches(
        row("evt-0"),
        [
            row("evt-1"),
            row("evt-2", record_ref="C\x00-2"),
            row("evt-3"),
            row("evt-1"),
            row("evt-0"),  # stored by the batch before
        ],
    )
    assert inserts == [1, 5, 1, 1, 1, 1, 1]  # the batch, then each of its events alone
    assert isinstance(answers[2], DataError) and "NUL" in str(answers[2])
    assert [answers[i] for i in (0, 1, 3)] == [(*stored(f"evt-{i}"), False) for i in (0, 1, 3)]
    assert answers[4] == (*stored("evt-1"), True) and answers[5] == (*stored("evt-0"), True)
    assert db.session.scalar(db.select(db.func.count(Event.id))) == 3


def test_a_lone_event_the_database_refuses_raises_and_leaves_the_lead_free(batcher, inserts):
    with pytest.raises(DataError):
        batcher.store(row("evt-1", record_ref="\x00"), 10)
    assert inserts == [1]  # tried once: alone already, it is not tried alone again
    assert not batcher.leading and not batcher.waiting
    assert batcher.store(row("evt-2"), 10) == (*stored("evt-2"), False)


def test_a_batch_takes_at_most_its_count_and_its_bytes_and_hands_the_rest_on(
    batches, inserts, monkeypatch
):
    monkeypatch.setattr(intake_batch, "BATCH_MAX", 3)
    monkeypatch.setattr(intake_batch, "BATCH_BYTES", 1000)
    answers = batches(
        row("evt-0"),
        [row(f"evt-{i}") for i in range(1, 9)],
        sizes=[10, 10, 10, 10, 10, 990, 10, 1000, 10],
    )
    # 1-3: the count; 4 and 5: 1,000 bytes; 6 alone (7 would make 1,010); 7 alone; 8
    assert inserts == [1, 3, 2, 1, 1, 1]
    assert answers == [(*stored(f"evt-{i}"), False) for i in range(9)]


def test_the_hook_intake_stores_through_the_apps_batcher(app, post_event, batcher, inserts):
    db.session.commit()  # the request's session holds no transaction, as in a web worker
    answer = post_event(dutch_invoice_event())
    assert answer.status_code == 202
    kept = app.extensions["designer.event_batcher"]
    assert intake_batch.batcher() is kept and not kept.leading
    assert stored("evt-1") == (answer.json["event"], "invoice.created")
    assert inserts == [1]


def test_a_request_stopped_while_it_waits_leaves_and_passes_on_the_lead_it_was_given():
    """A greenlet killed while waiting (a worker shutting down) must not keep the lead:
    every later request would wait for it for ever."""
    batcher = intake_batch.Batcher()
    first, second, third = (intake_batch.Slot(row(f"evt-{i}"), 10) for i in range(3))
    batcher.leading = True
    batcher.waiting.extend([first, second, third])
    batcher._leave(second)  # not the next leader: it only leaves the queue
    assert list(batcher.waiting) == [first, third] and not third.done.is_set()
    first.lead = True  # made the next leader, then stopped before it led
    first.done.set()
    batcher._leave(first)
    assert list(batcher.waiting) == [third] and third.lead and third.done.is_set()
    batcher._leave(third)
    assert not batcher.waiting and not batcher.leading
    batcher._leave(first)  # gone already (or taken into a batch): nothing changes
    assert not batcher.waiting and not batcher.leading


class Stopped(Exception):
    """What stops a waiting request here (a greenlet's kill, in a web worker)."""


def test_a_request_stopped_while_it_waits_leaves_the_queue_and_the_lead_to_its_holder():
    batcher = intake_batch.Batcher()
    batcher.leading = True  # another request's INSERT is running

    def stop(signum, frame):
        raise Stopped

    previous = signal.signal(signal.SIGUSR1, stop)
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1)).start()
    try:
        with pytest.raises(Stopped):
            batcher.store(row("evt-1"), 10)  # waits until the signal stops it
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert not batcher.waiting and batcher.leading

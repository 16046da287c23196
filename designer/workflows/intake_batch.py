"""Events posted at the same time, stored together: one INSERT for many requests.

A CRM importing records posts events over many connections at once, and a
web worker serves them concurrently. Stored one by one, each would cost a
statement and a commit of its own (the database's and the driver's work,
more than the rest of the request). Here the first request to store an
event while no INSERT is running *leads*: it stores every event waiting at
that moment (its own first) in one ``executemany`` — a multi-row
``INSERT … ON CONFLICT (source, event_id) DO NOTHING RETURNING`` in
autocommit — and answers each waiting request. Requests that arrive while
it runs wait, and the first of them leads the next batch, so a lone
request is stored at once, and a burst in batches as large as it is dense.

Each event keeps its own answer. An ``(source, id)`` stored before, or twice
in the same batch, is a duplicate answered with the first delivery's id and
type. Should the batch's INSERT fail, its events are stored one at a time,
so only an event that fails alone fails (its request answers the error).
Works with threads and with gevent's patched ones alike.
"""

import threading
from collections import deque
from dataclasses import dataclass, field
from functools import cache

from flask import current_app
from sqlalchemy import tuple_
from sqlalchemy.exc import DBAPIError

from designer.extensions import db, insert_ignoring
from designer.workflows.models import Event

#: Events stored at most in one INSERT, and their payloads' size at most (JSON bytes,
#: roughly): a batch holds at least one event, whatever its size.
BATCH_MAX = 200
BATCH_BYTES = 4 * 1024 * 1024


@dataclass(eq=False)
class Slot:
    """One request's event: the row to insert, then ``(id, type, duplicate)`` or the error."""

    row: dict
    size: int
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    outcome: tuple | None = None
    error: BaseException | None = None

    def answer(self):
        if self.error is not None:
            raise self.error
        return self.outcome


class Batcher:
    """Stores events in batches for one app's database (``store``)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.waiting = deque()
        self.leading = False

    def store(self, row, size):
        """``(id, type, duplicate)`` of ``row`` once stored; what the INSERT raised for it
        otherwise. ``size``: roughly how many bytes the row holds."""
        slot = Slot(row, size)
        with self.lock:
            self.waiting.append(slot)
            slot.lead, self.leading = not self.leading, True
        if not slot.lead:
            try:
                slot.done.wait()  # answered, or made the next leader
            except BaseException:  # the request was stopped (its greenlet killed)
                self._leave(slot)
                raise
        if slot.lead:
            self._lead()
        return slot.answer()

    def _leave(self, slot):
        """``slot``'s request stopped waiting: it leaves the queue, and should it have
        been made the next leader, the lead goes to the one after it."""
        with self.lock:
            if slot in self.waiting:
                self.waiting.remove(slot)
                if slot.lead:
                    self._hand_on()

    def _hand_on(self):
        """The lead to the first waiting request, if any (the lock held)."""
        if self.waiting:
            self.waiting[0].lead = True
            self.waiting[0].done.set()
        else:
            self.leading = False

    def _lead(self):
        """Store one batch (the leader's slot first), then hand the lead on."""
        with self.lock:
            batch, size = [], 0
            while self.waiting and len(batch) < BATCH_MAX:
                if batch and size + self.waiting[0].size > BATCH_BYTES:
                    break
                size += self.waiting[0].size
                batch.append(self.waiting.popleft())
        try:
            self._store(batch)
        except BaseException as exc:  # each request answers the error of its own
            for slot in batch:
                if slot.outcome is None and slot.error is None:
                    slot.error = exc
        finally:
            with self.lock:
                self._hand_on()
            for slot in batch[1:]:
                slot.done.set()

    def _store(self, batch):
        with _autocommit() as connection:
            try:
                inserted = _insert(connection, batch)
            except DBAPIError:
                if len(batch) == 1:
                    raise
                inserted = None  # each alone, below, on connections of their own
            if inserted is not None:
                _answer(connection, batch, inserted)
                return
        inserted = {}
        for slot in batch:
            try:
                with _autocommit() as connection:
                    inserted.update(_insert(connection, [slot]))
            except DBAPIError as exc:
                slot.error = exc
        with _autocommit() as connection:
            _answer(connection, batch, inserted)


def _autocommit():
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _insert(connection, batch):
    """``{(source, event_id): (id, type)}`` of the rows the INSERT stored."""
    statement = intake_statement()
    result = connection.execute(statement, [slot.row for slot in batch])
    return {(row.source, row.event_id): (row.id, row.type) for row in result}


def _answer(connection, batch, inserted):
    """Each slot's ``(id, type, duplicate)``: the first slot of a key the INSERT stored is
    new, every other one a duplicate of what is stored under its key."""
    missing = {_key(s) for s in batch if s.error is None and _key(s) not in inserted}
    stored = _stored(connection, missing) if missing else {}
    first = set()
    for slot in batch:
        if slot.error is not None:
            continue
        key = _key(slot)
        if key in inserted and key not in first:
            first.add(key)
            slot.outcome = (*inserted[key], False)
        else:
            slot.outcome = (*(inserted.get(key) or stored[key]), True)


def _key(slot):
    return slot.row["source"], slot.row["event_id"]


def _stored(connection, keys):
    """``{(source, event_id): (id, type)}`` of events stored before."""
    query = db.select(Event.source, Event.event_id, Event.id, Event.type).where(
        tuple_(Event.source, Event.event_id).in_(list(keys))
    )
    return {(r.source, r.event_id): (r.id, r.type) for r in connection.execute(query)}


def intake_statement():
    """``INSERT … ON CONFLICT (source, event_id) DO NOTHING RETURNING id, source,
    event_id, type`` for this database, built once."""
    return _statement(db.engine.dialect.name)


@cache
def _statement(dialect):
    table = Event.__table__
    return insert_ignoring(dialect, table, ("source", "event_id")).returning(
        table.c.id, table.c.source, table.c.event_id, table.c.type
    )


def batcher():
    """This app's ``Batcher`` (one per process and app)."""
    found = current_app.extensions.get("designer.event_batcher")
    if found is None:
        found = current_app.extensions["designer.event_batcher"] = Batcher()
    return found

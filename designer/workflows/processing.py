"""Processing stored events in batches: one processor at a time, woken by the intake.

A CRM importing thousands of records fires an event for each. Instead of a
job per event, the intake stores the event and *wakes* the processor
(``wake``): a Redis flag set only when it is not set already, and one
``process_events`` job queued by whoever set it. The job takes a lock (one
processor at a time, on any number of workers and hosts, so an event is never
taken twice), clears the flag, then takes the waiting events oldest first,
``BATCH`` at a time, until none is left:

1. the records of the ``received`` events are written together: the records
   they name read in a few queries (``preloaded_many``), one flush, one commit;
   should one of them fail, the batch is rolled back and written one event at a
   time, so that only the bad event fails (its message kept on it);
2. each event's workflows run (``run_events``); the mail they queue is put on the
   e-mail queue once for the batch.

No event is left behind: the intake commits its event before it sets the flag,
and the processor clears the flag before it looks for events and looks again
when the flag was set while it held the lock. A job that finds the lock taken
leaves the flag to its holder. Events still waiting after ``STALE_PENDING`` (a
job lost with Redis) are queued again by the scheduler. A processor that runs
longer than ``BUDGET_SECONDS`` queues itself again and lets the worker take
other jobs in between.
"""

import logging
import time
import uuid

from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError

from designer import broker, memo
from designer.clock import utcnow
from designer.extensions import db
from designer.mail import ledger
from designer.records.upsert import preloaded_many
from designer.workflows import events as events_module
from designer.workflows.events import RECEIVED, WAITING, InvalidEvent
from designer.workflows.models import Event, HookSource

log = logging.getLogger(__name__)

#: Set while a processor is due to look for events (a job is queued or running).
WAKE_KEY = "designer:workflows:wake"
#: Held by the one processor at work; its value names it.
LOCK_KEY = "designer:workflows:processor"
#: Seconds the flag and the lock last unless renewed (a processor renews at each batch).
WAKE_SECONDS = 60
LOCK_SECONDS = 120
#: Events taken at once.
BATCH = 500
#: Seconds a processor works before it queues itself again.
BUDGET_SECONDS = 30

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def wake():
    """Make sure a processor will look at the events stored so far (call after commit).

    A Redis failure is logged, not raised: the event is stored, and the
    scheduler queues waiting events again ``STALE_PENDING`` later."""
    try:
        if broker.get_redis().set(WAKE_KEY, 1, nx=True, ex=WAKE_SECONDS):
            broker.enqueue(broker.WORKFLOWS, broker.PROCESS_EVENTS)
    except RedisError:
        log.warning("could not wake the event processor; the scheduler will", exc_info=True)


def queue_processor():
    """Queue a processor whatever the flag says (the scheduler, for events left waiting)."""
    broker.get_redis().set(WAKE_KEY, 1, ex=WAKE_SECONDS)
    broker.enqueue(broker.WORKFLOWS, broker.PROCESS_EVENTS)


def process_events(run_events, budget=BUDGET_SECONDS):
    """The job: process every waiting event, a batch at a time; how many were processed.

    ``run_events(events)`` runs the workflows of a batch whose records are written."""
    redis = broker.get_redis()
    token = uuid.uuid4().hex
    done, deadline = 0, time.monotonic() + budget
    while redis.set(LOCK_KEY, token, nx=True, ex=LOCK_SECONDS):
        try:
            redis.delete(WAKE_KEY)
            while True:
                batch = next_batch()
                if not batch:
                    break
                done += process_batch(batch, run_events)
                redis.expire(LOCK_KEY, LOCK_SECONDS)
                if time.monotonic() > deadline:
                    queue_processor()  # the rest in a next job: other jobs get a turn
                    return done
        finally:
            redis.eval(_RELEASE, 1, LOCK_KEY, token)
        if not redis.exists(WAKE_KEY):
            break  # nobody stored an event while the lock was held
    return done


def next_batch():
    """The oldest waiting events (``received`` or ``pending``), at most ``BATCH``."""
    query = db.select(Event).where(Event.state.in_(WAITING)).order_by(Event.id).limit(BATCH)
    return list(db.session.scalars(query))


def process_batch(batch, run_events):
    """Write the records of ``batch`` and run its events' workflows; how many events."""
    session = db.session()
    session.expire_on_commit = False  # the batch's objects stay loaded from run to run
    try:
        received = [event for event in batch if event.state == RECEIVED]
        written = []  # held here: the session keeps the records only while they are used
        if received:
            _note_sources(received)  # first, in its own commit: seen with the events' states
            written = write_records(received)
        with ledger.deferred_enqueue(), memo.scope():
            run_events([event for event in batch if event.state == "pending"])
    finally:
        session.expire_on_commit = True
        session.expire_all()
    del written
    return len(batch)


def write_records(received):
    """Write the records of ``received`` events in one transaction, or one event at a time
    when one of them fails (that one is marked failed, with why); the records written."""
    try:
        with preloaded_many([(e.module, _record_of(e)) for e in received]):
            written = [
                (event, events_module.write_record(event, flush=False)) for event in received
            ]
            db.session.flush()  # the new records in a few INSERTs
            for event, record in written:
                events_module.link_record(event, record)
            db.session.commit()
        return [record for _, record in written]
    except Exception:  # any failure: the slow path below finds the culprit
        db.session.rollback()
    for event_id in [event.id for event in received]:
        write_one(db.session.get(Event, event_id))
    db.session.expire_all()  # the batch's events as the slow path left them
    return []


def write_one(event, attempts=events_module.UPSERT_ATTEMPTS):
    """Write one ``received`` event's record in its own transaction (failed when it can't;
    tried again when another transaction created the same record at the same time)."""
    event_id = event.id
    for attempt in range(attempts):
        event = db.session.get(Event, event_id)
        try:
            events_module.write_record(event)
            db.session.commit()
            return
        except IntegrityError as exc:
            db.session.rollback()
            if attempt == attempts - 1:
                _failed(event_id, f"the record could not be stored: {exc.orig}")
        except InvalidEvent as exc:
            db.session.rollback()
            _failed(event_id, str(exc))
            return
        except Exception as exc:
            db.session.rollback()
            log.exception("event %s: its record could not be written", event_id)
            _failed(event_id, f"{type(exc).__name__}: {exc}")
            return


def _failed(event_id, error):
    event = db.session.get(Event, event_id)
    event.state, event.error, event.processed_at = "failed", error[:2000], utcnow()
    db.session.commit()


def _note_sources(received):
    """Each source's ``last_event_at``: when the newest of its events was received."""
    newest = {}
    for event in received:
        newest[event.source] = max(newest.get(event.source, event.received_at), event.received_at)
    for name, moment in newest.items():
        last = HookSource.last_event_at
        db.session.execute(
            db.update(HookSource)
            .where(HookSource.name == name, db.or_(last.is_(None), last < moment))
            .values(last_event_at=moment)
        )
    db.session.commit()


def _record_of(event):
    payload = event.payload if isinstance(event.payload, dict) else {}
    return payload.get("record")

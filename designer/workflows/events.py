"""Events: a record was created, updated, … — stored first, then the workflows run.

An event is ``{id, type, module, record, changes, occurred_at}``; ``type`` is
``<module>.<action>`` (``invoice.created``). A posted event (``accept``) is
checked as far as it can be without the database (``designer.records.checks``)
and stored ``received``, in one INSERT, before it is answered; its record is
written later, with a batch of others (``write_record``, from
``designer.workflows.processing``). An event raised in Python (``receive``)
has its record upserted in the same transaction that stores it
(``pending``). A ``…deleted`` event archives its record (it leaves lists and
audiences; its messages stay). A contact's or organisation's
``email_opt_out`` goes on the suppression list (``designer.workflows.opt_out``).
``(source, id)`` is unique: an event delivered again is recognised and runs
nothing. The workflows then run in a job; events still waiting after a while
(a lost job) are queued again by the scheduler.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from designer.clock import utcnow
from designer.extensions import db
from designer.records.checks import check_record
from designer.records.upsert import (
    UPSERT_MODULES,
    InvalidRecord,
    archive_record,
    upsert_record,
)
from designer.workflows import intake_batch
from designer.workflows.models import Event
from designer.workflows.opt_out import apply_opt_out, read_opt_out
from designer.workflows.sources import APP_SOURCE

#: Pending events older than this are queued again (their job was lost).
STALE_PENDING = timedelta(minutes=2)
EVENT_ID_MAX = 200
#: Tries to store an event whose record a concurrent event was creating at the same time.
UPSERT_ATTEMPTS = 3
#: An event stored by the intake whose record is not written yet.
RECEIVED = "received"
#: States of the events the processor has still to take.
WAITING = (RECEIVED, "pending")


class InvalidEvent(ValueError):
    """The event cannot be accepted; ``field`` names what is wrong."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field


def receive(payload, source=APP_SOURCE, event_id=None):
    """Store the event (and upsert its record); ``(event, duplicate)``.

    ``event_id``, when given (a Standard Webhooks ``webhook-id``), is the event's id
    and the body's ``id`` may be left out. Raises ``InvalidEvent`` naming the field
    at fault; nothing is stored then.
    """
    parsed = parse(payload if event_id is None else {**_object(payload), "id": event_id})
    for attempt in range(UPSERT_ATTEMPTS):
        existing = _find(source, parsed["event_id"])
        if existing is not None:
            return existing, True
        try:
            return _store(parsed, payload, source)
        except IntegrityError:  # a concurrent event created the same record (or event)
            db.session.rollback()
            if attempt == UPSERT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def accept(payload, source, event_id=None):
    """Store a posted event as ``received``, its record not written yet (the processor
    writes it); ``(id, type, duplicate)``, committed.

    ``InvalidEvent`` names the field at fault of an event that fails the checks
    that need no database; nothing is stored then. One INSERT that ignores a
    ``(source, id)`` stored before, so a redelivery racing the first delivery is
    answered as a duplicate too; on PostgreSQL, with the events other requests
    post at the same time (``designer.workflows.intake_batch``).
    """
    parsed = parse(payload if event_id is None else {**_object(payload), "id": event_id})
    check_text(payload)
    try:
        read_opt_out(parsed["module"], parsed["record"])
        record_ref = check_record(parsed["module"], parsed["action"], parsed["record"])
    except InvalidRecord as exc:
        raise InvalidEvent(f"record.{exc.field}", str(exc).split(": ", 1)[1]) from None
    row = {
        "source": source,
        "event_id": parsed["event_id"],
        "type": parsed["type"],
        "module": parsed["module"],
        "action": parsed["action"],
        "record_ref": record_ref,
        "changes": parsed["changes"],
        "payload": payload,
        "occurred_at": parsed["occurred_at"],
        "received_at": utcnow(),
        "state": RECEIVED,
        "error": "",
    }
    if db.engine.dialect.name == "postgresql" and not _in_transaction():
        size = len(str(payload))  # about its size: a bound on a batch, not a measure
        return intake_batch.batcher().store(row, size)
    return _store_in_session(row)


def _in_transaction():
    """Whether this request's session holds a transaction (without making a session)."""
    return db.session.registry.has() and db.session().in_transaction()


def _store_in_session(row):
    """``accept``'s INSERT in the session (SQLite, or a request already in a transaction:
    on SQLite a second connection would wait for the session's own lock; elsewhere a
    request would hold two); ``(id, type, duplicate)``, committed."""
    inserted = db.session.execute(intake_batch.intake_statement(), row).first()
    stored = inserted
    if inserted is None:  # stored before: the first delivery's id and type
        stored = db.session.execute(
            db.select(Event.id, Event.type).where(
                Event.source == row["source"], Event.event_id == row["event_id"]
            )
        ).one()
    db.session.commit()
    return stored.id, stored.type, inserted is None


def check_text(value, path=""):
    """``InvalidEvent`` naming the first text in ``value`` (names and values, at any depth)
    that the database cannot store: with a NUL character, or not valid Unicode."""
    if isinstance(value, dict):
        for name, item in value.items():
            field = f"{path}.{name}" if path else str(name)
            _check_string(name, field)
            check_text(item, field)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_text(item, f"{path}[{index}]")
    else:
        _check_string(value, path)


def _check_string(value, field):
    if not isinstance(value, str):
        return
    if "\x00" in value:
        raise InvalidEvent(field, "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEvent(field, "must be valid Unicode text (a lone surrogate?)") from None


def write_record(event, flush=True):
    """Write the record of a ``received`` event (upsert, or archive for ``…deleted``) and
    make the event ``pending``; ``InvalidEvent`` names the field at fault. Not committed.

    ``flush=False`` (a batch) leaves a new record without its id: the caller flushes
    once for the batch, then ``link_record``."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    record, changes = _write(event.module, event.action, payload.get("record"))
    event.changes = {**changes, **(event.changes or {})}
    event.state = "pending"
    if flush:
        db.session.flush()
        link_record(event, record)
    return record


def link_record(event, record):
    """Point ``event`` at its written (flushed) ``record``."""
    event.record_id, event.record_ref = record.id, record.external_id or ""


def _write(module, action, data):
    """``(record, changes)`` of writing ``data``: upserted, or archived when deleted."""
    try:
        if action == "deleted":  # deleted in the CRM: archived here, messages kept
            return archive_record(module, data)
        opted_out = read_opt_out(module, data)
        record, _, changes = upsert_record(module, data)
        apply_opt_out(record, opted_out)
        return record, changes
    except InvalidRecord as exc:
        raise InvalidEvent(f"record.{exc.field}", str(exc).split(": ", 1)[1]) from None


def _store(parsed, payload, source):
    try:
        record, changes = _write(parsed["module"], parsed["action"], parsed["record"])
    except InvalidEvent:
        db.session.rollback()
        raise
    db.session.flush()
    event = Event(
        source=source,
        event_id=parsed["event_id"],
        type=parsed["type"],
        module=parsed["module"],
        action=parsed["action"],
        record_id=record.id,
        record_ref=record.external_id or "",
        occurred_at=parsed["occurred_at"],
        changes={**changes, **parsed["changes"]},
        payload=payload,
    )
    db.session.add(event)
    db.session.commit()
    return event, False


def record_event(module, record, action, changes, source=APP_SOURCE):
    """Store an event for a change already written (in the app): ``Event``, not committed."""
    event = Event(
        source=source,
        event_id=str(uuid.uuid4()),
        type=f"{module}.{action}",
        module=module,
        action=action,
        record_id=record.id,
        record_ref=record.external_id or "",
        occurred_at=utcnow(),
        changes=changes,
        payload={},
    )
    db.session.add(event)
    return event


def _find(source, event_id):
    return db.session.scalar(
        db.select(Event).where(Event.source == source, Event.event_id == event_id)
    )


def _object(payload):
    if not isinstance(payload, dict):
        raise InvalidEvent("body", "must be a JSON object")
    return payload


def parse(payload):
    """The checked parts of an event payload (``InvalidEvent`` naming the bad field)."""
    _object(payload)
    event_id = payload.get("id")
    if isinstance(event_id, int) and not isinstance(event_id, bool):
        event_id = str(event_id)
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > EVENT_ID_MAX:
        raise InvalidEvent(
            "id",
            f"the event's unique id is required (a string of at most {EVENT_ID_MAX} characters)",
        )
    module, action = _type(payload)
    record = payload.get("record")
    if not isinstance(record, dict):
        raise InvalidEvent("record", "the record (a JSON object with its CRM id) is required")
    return {
        "event_id": event_id.strip(),
        "type": f"{module}.{action}",
        "module": module,
        "action": action,
        "record": record,
        "changes": _changes(payload.get("changes")),
        "occurred_at": _occurred_at(payload.get("occurred_at")),
    }


def _type(payload):
    kind = payload.get("type")
    if not isinstance(kind, str) or "." not in kind:
        raise InvalidEvent("type", "must look like <module>.<action>, e.g. invoice.created")
    module, _, action = kind.strip().partition(".")
    given = payload.get("module")
    if given not in (None, "", module):
        raise InvalidEvent("module", f"{given!r} does not match the type {kind!r}")
    if module not in UPSERT_MODULES:
        raise InvalidEvent(
            "type", f"unknown module {module!r}: events are about {', '.join(UPSERT_MODULES)}"
        )
    if not action.replace("_", "").isalpha() or len(action) > 30:
        raise InvalidEvent("type", f"unknown action {action!r} (e.g. created, updated)")
    return module, action


def _changes(changes):
    """``{field: {"from", "to"}}``; a bare value means the new value."""
    if changes in (None, {}):
        return {}
    if not isinstance(changes, dict):
        raise InvalidEvent("changes", "must be an object of field: {from, to} (or field: value)")
    normal = {}
    for name, change in changes.items():
        if isinstance(change, dict) and ("to" in change or "from" in change):
            normal[str(name)] = {"from": change.get("from"), "to": change.get("to")}
        else:
            normal[str(name)] = {"from": None, "to": change}
    return normal


def _occurred_at(value):
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvent("occurred_at", f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def get_event(event_id):
    return db.session.get(Event, event_id)


def stale_pending(now=None):
    """Ids of events still waiting after ``STALE_PENDING`` (their job was lost)."""
    cutoff = (now or utcnow()) - STALE_PENDING
    query = db.select(Event.id).where(Event.state.in_(WAITING), Event.received_at < cutoff)
    return list(db.session.scalars(query.order_by(Event.id).limit(1000)))


def recent_events(limit=50):
    return db.session.scalars(db.select(Event).order_by(Event.id.desc()).limit(limit)).all()

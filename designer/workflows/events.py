"""Events: a record was created, updated, … — stored first, then the workflows run.

An event is ``{id, type, module, record, changes, occurred_at}``; ``type`` is
``<module>.<action>`` (``invoice.created``). Its record is upserted into our
store in the same transaction that stores the event, and the event is
answered only once that is committed; a ``…deleted`` event archives its record
(it leaves lists and audiences; its messages stay). A contact's or
organisation's ``email_opt_out`` goes on the suppression list
(``designer.workflows.opt_out``). ``(source, id)`` is unique: an event
delivered again is recognised and runs nothing. The workflows then run in a
job (``process``); events still pending after a while (a lost job) are
queued again by the scheduler.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from designer.clock import utcnow
from designer.extensions import db
from designer.records.upsert import (
    UPSERT_MODULES,
    InvalidRecord,
    archive_record,
    upsert_record,
)
from designer.workflows.models import Event
from designer.workflows.opt_out import apply_opt_out, read_opt_out
from designer.workflows.sources import APP_SOURCE

#: Pending events older than this are queued again (their job was lost).
STALE_PENDING = timedelta(minutes=2)
EVENT_ID_MAX = 200
#: Tries to store an event whose record a concurrent event was creating at the same time.
UPSERT_ATTEMPTS = 3


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


def _store(parsed, payload, source):
    try:
        if parsed["action"] == "deleted":  # deleted in the CRM: archived here, messages kept
            record, changes = archive_record(parsed["module"], parsed["record"])
        else:
            opted_out = read_opt_out(parsed["module"], parsed["record"])
            record, _, changes = upsert_record(parsed["module"], parsed["record"])
            apply_opt_out(record, opted_out)
    except InvalidRecord as exc:
        db.session.rollback()
        raise InvalidEvent(f"record.{exc.field}", str(exc).split(": ", 1)[1]) from None
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
    """Ids of events still pending after ``STALE_PENDING`` (their job was lost)."""
    cutoff = (now or utcnow()) - STALE_PENDING
    query = db.select(Event.id).where(Event.state == "pending", Event.received_at < cutoff)
    return list(db.session.scalars(query.order_by(Event.id).limit(1000)))


def recent_events(limit=50):
    return db.session.scalars(db.select(Event).order_by(Event.id.desc()).limit(limit)).all()

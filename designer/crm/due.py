"""Which organisations and contacts are due a write-back: what changed since the last look.

Mail and tracking never call the CRM part (the arrows point up), so the CRM
part looks itself: each run reads the tracking events added since its saved
cursor (by event id) and the messages sent since its last run (by
``sent_at``), and marks the organisations and contacts of those messages that
vtiger knows (an ``external_id``) as due in ``crm_writeback_states``.

The cursor lags one run behind: each run reads again what the run before it
read (events after the previous-but-one cursor, messages sent up to
``SENT_OVERLAP`` before the previous run), so a flush or send that committed
late is still seen. Reading something twice only marks a record due twice;
the push writes exact totals and skips what vtiger already has.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, update

from designer.clock import utcnow
from designer.crm.models import CrmWritebackState
from designer.extensions import db
from designer.mail.models import Message
from designer.records.models import Contact, Organisation
from designer.settings import get_setting, set_setting
from designer.tracking.models import TrackingEvent

CURSOR = "crm_writeback_cursor"
SENT_OVERLAP = timedelta(minutes=5)
#: Ids per ``IN (…)`` list.
CHUNK = 1000


def mark_due():
    """Mark due what changed since the last look; return how many records were marked."""
    cursor = get_setting(CURSOR, {}) or {}
    started = utcnow()
    top_event = db.session.scalar(db.select(func.max(TrackingEvent.id))) or 0
    contacts, organisations = set(), set()
    for contact_id, organisation_id in _touched(cursor, top_event):
        if contact_id:
            contacts.add(contact_id)
        if organisation_id:
            organisations.add(organisation_id)
    organisations |= _organisations_of(contacts)
    marked = _mark("contact", _known_in_crm(Contact, contacts))
    marked += _mark("organisation", _known_in_crm(Organisation, organisations))
    db.session.commit()
    set_setting(
        CURSOR,
        {
            "events_after": cursor.get("events_seen", 0),
            "events_seen": top_event,
            "sent_after": cursor.get("sent_seen"),
            "sent_seen": started.isoformat(),
        },
    )
    return marked


def _touched(cursor, top_event):
    """``(contact id, organisation id)`` of messages opened or sent since the cursor."""
    opened = (
        db.select(Message.contact_id, Message.organisation_id)
        .join(TrackingEvent, TrackingEvent.message_id == Message.id)
        .where(
            TrackingEvent.id > cursor.get("events_after", 0),
            TrackingEvent.id <= top_event,
            TrackingEvent.kind == "open",
        )
        .distinct()
    )
    sent = db.select(Message.contact_id, Message.organisation_id).where(
        Message.sent_at.is_not(None)
    )
    if cursor.get("sent_after"):
        sent = sent.where(
            Message.sent_at >= datetime.fromisoformat(cursor["sent_after"]) - SENT_OVERLAP
        )
    yield from db.session.execute(opened)
    yield from db.session.execute(sent.distinct())


def _chunks(ids):
    ids = sorted(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _organisations_of(contact_ids):
    """The organisations of these contacts (an open counts on the contact's organisation too)."""
    found = set()
    for chunk in _chunks(contact_ids):
        query = db.select(Contact.organisation_id).where(
            Contact.id.in_(chunk), Contact.organisation_id.is_not(None)
        )
        found.update(db.session.scalars(query))
    return found


def _known_in_crm(model, ids):
    """Those of ``ids`` whose record came from the CRM (has an ``external_id``)."""
    found = set()
    for chunk in _chunks(ids):
        query = db.select(model.id).where(model.id.in_(chunk), model.external_id.is_not(None))
        found.update(db.session.scalars(query))
    return found


def _mark(module, record_ids):
    """Set ``due`` on the states of these records, creating the missing ones."""
    for chunk in _chunks(record_ids):
        db.session.execute(
            update(CrmWritebackState)
            .where(CrmWritebackState.module == module, CrmWritebackState.record_id.in_(chunk))
            .values(due=True),
            execution_options={"synchronize_session": False},
        )
        known = set(
            db.session.scalars(
                db.select(CrmWritebackState.record_id).where(
                    CrmWritebackState.module == module, CrmWritebackState.record_id.in_(chunk)
                )
            )
        )
        db.session.add_all(
            CrmWritebackState(
                module=module, record_id=record_id, due=True, pushed={}, attempts=0, last_error=""
            )
            for record_id in chunk
            if record_id not in known
        )
    return len(record_ids)

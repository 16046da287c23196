"""Replies in workflows: the "replied" trigger and the ``activity.replied`` condition.

When a person (not an auto-reply) answers one of our messages
(``designer.mail.replies``), the record the message was sent to gets a
``<module>.replied`` event naming the message and its template, so a
workflow can start on it ("the contact replied to a message of template X").
The condition ``activity.replied`` asks whether the record has replied to a
message of template ``value`` (or ``any``): ``eq`` replied, ``ne`` not.
"""

from designer.extensions import db
from designer.mail.models import Message, Reply
from designer.records import RecordNotFound, get_record
from designer.workflows import events
from designer.workflows.models import Event
from designer.workflows.sources import APP_SOURCE

REPLIED_FIELD = "activity.replied"
ANY = "any"


def reply_events(reply_ids):
    """Store a ``replied`` event for each reply from a person; the event ids (to queue)."""
    stored = []
    for reply in db.session.scalars(db.select(Reply).where(Reply.id.in_(reply_ids or [0]))):
        event = _event_for(reply)
        if event is not None:
            stored.append(event)
    db.session.commit()
    return [event.id for event in stored]


def _event_for(reply):
    message = reply.message
    module, record_id = _record_of(message)
    if reply.auto or record_id is None or _raised(reply):
        return None
    try:
        record = get_record(module, record_id)
    except RecordNotFound:
        return None
    template_id = message.template_version.template_id
    event = events.record_event(
        module,
        record,
        "replied",
        {
            "message_id": {"from": None, "to": message.id},
            "template_id": {"from": None, "to": template_id},
            "reply_id": {"from": None, "to": reply.id},
        },
    )
    event.event_id = f"reply:{reply.id}"  # one event per reply, however often it is read
    db.session.flush()
    return event


def _raised(reply):
    query = db.select(Event.id).where(
        Event.source == APP_SOURCE, Event.event_id == f"reply:{reply.id}"
    )
    return db.session.scalar(query) is not None


def _record_of(message):
    if message.contact_id:
        return "contact", message.contact_id
    if message.organisation_id:
        return "organisation", message.organisation_id
    return message.record_module, message.record_id


def triggered(trigger, event):
    """Whether a ``replied`` event starts a workflow with this "replied" trigger."""
    if event.action != "replied":
        return False
    wanted = trigger.get("template_id")
    given = ((event.changes or {}).get("template_id") or {}).get("to")
    return wanted is None or given == wanted


def has_replied(module, record, value):
    """Whether ``record`` answered (a person, not an auto-reply) one of our messages, of
    template ``value`` (an id) or ``any``."""
    query = (
        db.select(Reply.id)
        .join(Message, Message.id == Reply.message_id)
        .where(Reply.auto.is_(False), _messages_of(module, record))
    )
    if str(value).strip().lower() != ANY:
        from designer.templating.models import TemplateVersion

        query = query.join(
            TemplateVersion, TemplateVersion.id == Message.template_version_id
        ).where(TemplateVersion.template_id == int(value))
    return db.session.scalar(query.limit(1)) is not None


def _messages_of(module, record):
    if module == "contact":
        return Message.contact_id == record.id
    if module == "organisation":
        return Message.organisation_id == record.id
    return (Message.record_module == module) & (Message.record_id == record.id)

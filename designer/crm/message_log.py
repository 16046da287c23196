"""Sent messages recorded in vtiger: a comment on the contact and on the organisation.

Optional (off by default; the write-back page switches it on). Each message
sent since it was switched on to a contact or organisation known in vtiger
becomes one ``ModComments`` record with ``related_to`` = that record, so it
shows in the record's Comments in vtiger. Comments exist in every vtiger 7/8
and are created by any user who may see the record; vtiger's ``Emails``
module is refused by Defalto's webservice, and Defalto's own
``ITS4YouEmails`` exists nowhere else.

Every comment is claimed first (a ``crm_message_records`` row, unique per
message and record), so two runs never record one message twice. vtiger
unreachable: the claim is let go and the next run tries again. vtiger
refusing the comment: the claim keeps the reason and is not tried again. A
claim left by a run that died mid-way is taken again after ``STALE_CLAIM``.
"""

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_
from sqlalchemy.exc import IntegrityError

from designer.clock import utcnow
from designer.crm.client import VtigerError
from designer.crm.models import CrmMessageRecord
from designer.crm.writeback_fields import writeback_settings
from designer.extensions import db
from designer.mail.models import Message
from designer.records.models import Contact, Organisation

#: Messages recorded per run and module at most (the rest go next run).
BATCH = 500
STALE_CLAIM = timedelta(minutes=10)
TARGETS = {
    "contact": (Contact, Message.contact_id),
    "organisation": (Organisation, Message.organisation_id),
}


def record_sent_messages(client, on_error):
    """Record the messages not yet in vtiger; return how many comments were created.

    ``on_error(exc)`` is called with a ``VtigerError`` before a claim is kept as
    failed: it raises to stop the run (vtiger unreachable).
    """
    settings = writeback_settings()
    if not settings["record_messages"] or not settings["record_messages_since"]:
        return 0
    since = datetime.fromisoformat(settings["record_messages_since"])
    created = 0
    for module in TARGETS:
        for message, external_id in _unrecorded(module, since):
            created += _record(client, message, module, external_id, on_error)
    return created


def _unrecorded(module, since):
    model, column = TARGETS[module]
    stale = utcnow() - STALE_CLAIM
    claimed = exists().where(
        CrmMessageRecord.message_id == Message.id,
        CrmMessageRecord.module == module,
        or_(
            CrmMessageRecord.vtiger_id != "",
            CrmMessageRecord.attempts > 0,
            CrmMessageRecord.claimed_at >= stale,
        ),
    )
    query = (
        db.select(Message, model.external_id)
        .join(model, and_(model.id == column, model.external_id.is_not(None)))
        .where(Message.state == "sent", Message.sent_at >= since, ~claimed)
        .order_by(Message.id)
        .limit(BATCH)
    )
    return db.session.execute(query).all()


def _claim(message, module, external_id):
    """The claim row of ``message`` on ``module``'s record, or None when another run has it."""
    row = db.session.scalar(
        db.select(CrmMessageRecord).where(
            CrmMessageRecord.message_id == message.id, CrmMessageRecord.module == module
        )
    )
    if row is not None:  # a stale claim of a run that died: take it over
        row.claimed_at, row.external_id = utcnow(), external_id
    else:
        row = CrmMessageRecord(
            message_id=message.id, module=module, external_id=external_id, vtiger_id=""
        )
        row.attempts, row.last_error = 0, ""
        db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return row


def _record(client, message, module, external_id, on_error):
    row = _claim(message, module, external_id)
    if row is None:
        return 0
    try:
        if client.user_id is None:
            client.login()
        comment = client.create(
            "ModComments",
            {
                "commentcontent": comment_text(message),
                "related_to": external_id,
                "assigned_user_id": client.user_id,
            },
        )
    except VtigerError as exc:
        db.session.delete(row)  # let go: the next run tries again, unless it is refused
        db.session.commit()
        on_error(exc)
        _refused(message, module, external_id, str(exc))
        return 0
    row.vtiger_id, row.recorded_at = str(comment.get("id", "")), utcnow()
    db.session.commit()
    return 1


def _refused(message, module, external_id, error):
    row = CrmMessageRecord(message_id=message.id, module=module, external_id=external_id)
    row.vtiger_id, row.attempts, row.last_error = "", 1, error[:2000]
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def comment_text(message):
    """What the comment says: when, to whom, which subject."""
    sent = message.sent_at.strftime("%Y-%m-%d %H:%M") if message.sent_at else "?"
    to = message.recipient_email
    if message.recipient_name:
        to = f"{message.recipient_name} <{to}>"
    return f"E-mail sent from Designer on {sent} UTC to {to}: “{message.subject}”"


def failed_records(limit=20):
    """The latest messages vtiger refused to record, newest first."""
    query = (
        db.select(CrmMessageRecord)
        .where(CrmMessageRecord.vtiger_id == "", CrmMessageRecord.attempts > 0)
        .order_by(CrmMessageRecord.id.desc())
        .limit(limit)
    )
    return db.session.scalars(query).all()

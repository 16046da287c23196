"""The ledger: Message rows are written first, then their ids are queued.

State moves queued -> sending (claimed with a lease) -> sent | failed, or back
to queued with a later ``next_attempt_at`` after a temporary failure. The
periodic dispatcher re-queues rows that are due and rows whose lease expired
(a worker died), so no message is lost even when a job or a worker is.
"""

import random
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, update

from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.mail.sender import resolve_sender
from designer.records import Recipient, recipient_of
from designer.templating import TemplateVersion, choose_locale, version_for

#: A queued message whose job has not run after this long is queued again.
STALE_ENQUEUE = timedelta(minutes=2)
#: First retry delay; doubles with each attempt, plus jitter.
RETRY_BASE_SECONDS = 30


class NoRecipient(ValueError):
    """The record has no e-mail address."""


def new_token():
    """An unguessable per-message token (tracking, unsubscribe)."""
    return secrets.token_urlsafe(24)


def new_message(template, *, module, record, sender_user, dedupe_key=None, locale=None,
                test_to=None):
    """An unsaved ledger row for the recipient of ``record``.

    ``template`` is a Template (the variant in the recipient's language is
    chosen) or a pinned TemplateVersion. ``test_to`` (a user) receives the
    message instead of the record's recipient: a test send, kept out of the
    record's history.
    """
    recipient = recipient_of(module, record)
    version = template if isinstance(template, TemplateVersion) else version_for(
        template, recipient.language)
    if test_to is not None:
        recipient = Recipient(test_to.email, test_to.name, recipient.language, None, None)
    if not recipient.email:
        raise NoRecipient(f"{module} {record.id} has no e-mail address")
    sender = resolve_sender(sender_user)
    return Message(
        dedupe_key=dedupe_key,
        template_version=version,
        sender=sender_user,
        contact_id=recipient.contact_id,
        organisation_id=recipient.organisation_id,
        record_module=module,
        record_id=record.id,
        recipient_email=recipient.email,
        recipient_name=recipient.name,
        from_address=f"{sender.name} <{sender.address}>",
        locale=locale
        or choose_locale(recipient.language, version.template.language, sender.language),
        token=new_token(),
    )


def queue_message(template, *, module, record, sender_user, dedupe_key=None, enqueue=True,
                  test_to=None):
    """Write the ledger row for one recipient, then queue its id."""
    message = new_message(template, module=module, record=record, sender_user=sender_user,
                          dedupe_key=dedupe_key, test_to=test_to)
    db.session.add(message)
    db.session.commit()
    if enqueue:
        enqueue_ids([message.id])
    return message


def enqueue_ids(ids):
    """Put message ids on the e-mail queue in batches (jobs never carry bodies)."""
    from workers.queues import email_queue

    size = current_app.config["BATCH_SIZE"]
    queue = email_queue()
    for start in range(0, len(ids), size):
        batch = list(ids[start : start + size])
        queue.enqueue("workers.jobs.send_messages", batch, job_timeout=600)
        _set_enqueued(batch)


def _set_enqueued(ids):
    db.session.execute(
        update(Message).where(Message.id.in_(ids)).values(enqueued_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def claim(ids):
    """Atomically move due, queued rows to sending with a lease; return the claimed ids.

    Rows of a campaign that is not sending (paused, cancelled) are left alone.
    """
    now = utcnow()
    lease = timedelta(seconds=current_app.config["LEASE_SECONDS"])
    sending = _sending_campaigns()
    stmt = (
        update(Message)
        .where(
            Message.id.in_(ids),
            Message.state == "queued",
            or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
            or_(Message.campaign_id.is_(None), Message.campaign_id.in_(sending)),
        )
        .values(state="sending", lease_until=now + lease, attempts=Message.attempts + 1)
        .returning(Message.id)
    )
    claimed = list(db.session.scalars(stmt, execution_options={"synchronize_session": False}))
    db.session.commit()
    return claimed


def _sending_campaigns():
    # Imported here: campaigns queue mail through this module, so a module-level
    # import would be circular.
    from designer.campaigns.models import Campaign

    return db.select(Campaign.id).where(Campaign.state == "sending")


def mark_sent(message, message_id, reply):
    message.state = "sent"
    message.message_id = message_id
    message.smtp_reply = reply
    message.sent_at = utcnow()
    message.lease_until = None
    message.last_error = ""
    db.session.commit()


def mark_failed(message, error):
    message.state = "failed"
    message.last_error = str(error)
    message.lease_until = None
    db.session.commit()


def mark_retry(message, error):
    """Back to queued with exponential backoff, or failed after the last attempt."""
    if message.attempts >= current_app.config["MAX_ATTEMPTS"]:
        mark_failed(message, f"gave up after {message.attempts} attempts: {error}")
        return
    delay = RETRY_BASE_SECONDS * 2 ** (message.attempts - 1)
    message.state = "queued"
    message.last_error = str(error)
    message.lease_until = None
    message.enqueued_at = None
    message.next_attempt_at = utcnow() + timedelta(seconds=delay * random.uniform(0.8, 1.2))
    db.session.commit()


def release(message):
    """Give a claimed message back unsent (its campaign was paused meanwhile)."""
    message.state = "queued"
    message.lease_until = None
    message.enqueued_at = None
    message.attempts = max(message.attempts - 1, 0)
    db.session.commit()


def mark_suppressed(message, reason):
    message.state = "suppressed"
    message.last_error = reason
    message.lease_until = None
    db.session.commit()


def requeue_expired_leases():
    """Rows stuck in sending past their lease (a dead worker) go back to queued."""
    result = db.session.execute(
        update(Message)
        .where(Message.state == "sending", Message.lease_until < utcnow())
        .values(state="queued", lease_until=None, enqueued_at=None, next_attempt_at=None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return result.rowcount


def dispatch_due():
    """Queue every queued row that is due and has no live job; return how many."""
    now = utcnow()
    stmt = db.select(Message.id).where(
        Message.state == "queued",
        or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
        or_(Message.enqueued_at.is_(None), Message.enqueued_at < now - STALE_ENQUEUE),
    )
    sending = _sending_campaigns()
    stmt = stmt.where(or_(Message.campaign_id.is_(None), Message.campaign_id.in_(sending)))
    ids = list(db.session.scalars(stmt))
    if ids:
        enqueue_ids(ids)
    return len(ids)


def record_open(token):
    """Count one open of the message with ``token``; False when no message has it."""
    now = utcnow()
    result = db.session.execute(
        update(Message)
        .where(Message.token == token)
        .values(
            open_count=Message.open_count + 1,
            first_opened_at=db.func.coalesce(Message.first_opened_at, now),
            last_opened_at=now,
        ),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return result.rowcount == 1

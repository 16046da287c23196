"""The ledger: Message rows are written first, then their ids are queued.

State moves queued -> sending (claimed with a lease: ``designer.mail.lease``)
-> sent | failed, or back to queued with a later ``next_attempt_at`` after a
temporary failure. The periodic dispatcher re-queues rows that are due and
rows whose lease expired (a worker died), so no message is lost even when a
job or a worker is.

Only mail writes the ``messages`` table. Other parts write their rows through
these functions: one message (``queue_message``, ``queue_messages``), the rows
of a whole campaign a chunk at a time (``RowBuilder``, ``write_rows``), its
queued rows cancelled or queued again, and tracking's counters
(``designer.mail.counters``). Who a row is from and the locale its formats
use are decided in one place, ``_sender_and_locale``.
"""

import contextvars
import logging
import random
import secrets
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, or_, text, update
from sqlalchemy.orm.attributes import set_committed_value

from designer import broker, webhooks
from designer.clock import utcnow
from designer.extensions import db, insert_ignoring
from designer.mail import consent, copies
from designer.mail.gate import CLOSED, may_go_out
from designer.mail.models import Message
from designer.mail.sender import resolve_sender
from designer.records import Recipient, recipient_of
from designer.templating import TemplateVersion, choose_locale, purpose_of, version_for

log = logging.getLogger(__name__)

#: States of a row that is done with (it will not be sent, or was).
DONE = ("sent", "failed", "suppressed", "cancelled")
#: Rows marked queued by one UPDATE (``enqueue_ids``).
MARK_CHUNK = 1000
#: The UPDATEs leave the session's objects alone: each is followed by a commit, which
#: expires them all (so synchronising them first would change nothing but the time taken).
UNSYNCED = {"synchronize_session": False}


class NoRecipient(ValueError):
    """The record has no e-mail address."""


def new_token():
    """An unguessable per-message token (tracking, unsubscribe)."""
    return secrets.token_urlsafe(24)


def _sender_and_locale(version, sender, recipient_language, locale=None):
    """The From of a row, and its locale: the recipient's language, else the template's,
    else the sender's (``locale`` when the caller chose one)."""
    return {
        "from_address": f"{sender.name} <{sender.address}>",
        "locale": locale
        or choose_locale(recipient_language, version.template.language, sender.language),
    }


def new_message(
    template,
    *,
    module,
    record,
    sender_user,
    dedupe_key=None,
    locale=None,
    test_to=None,
    to=None,
    attach_pdf_ids=None,
    not_before=None,
    topic_id=None,
    to_extra=(),
    cc=(),
    bcc=(),
):
    """An unsaved ledger row for the recipient of ``record`` (or ``to``, a Recipient).

    ``template`` is a Template (the variant in the recipient's language is
    chosen) or a pinned TemplateVersion. ``test_to`` (a user) receives the
    message instead of the record's recipient: a test send, kept out of the
    record's history. ``sender_user`` None sends from the system.
    ``attach_pdf_ids`` adds PDF templates to the template's own attachments;
    ``not_before`` (naive UTC) holds the message back until then; ``topic_id``
    names its subscription topic (those who opted out of it are held back).
    ``to_extra``, ``cc`` and ``bcc`` are more addresses it goes to
    (``designer.mail.copies`` checks them; ``AddressesInvalid`` says what is wrong).
    """
    to_extra = copies.checked_addresses(to_extra, "To")
    cc, bcc = copies.checked_addresses(cc, "Cc"), copies.checked_addresses(bcc, "Bcc")
    recipient = to or recipient_of(module, record)
    version = (
        template
        if isinstance(template, TemplateVersion)
        else version_for(template, recipient.language)
    )
    if test_to is not None:
        recipient = Recipient(test_to.email, test_to.name, recipient.language, None, None)
    if not recipient.email:
        raise NoRecipient(f"{module} {record.id} has no e-mail address")
    return Message(
        dedupe_key=dedupe_key,
        template_version=version,
        purpose=purpose_of(version.template),
        sender=sender_user,
        contact_id=recipient.contact_id,
        organisation_id=recipient.organisation_id,
        record_module=module,
        record_id=record.id,
        recipient_email=recipient.email,
        recipient_name=recipient.name,
        **_sender_and_locale(version, resolve_sender(sender_user), recipient.language, locale),
        token=new_token(),
        attach_pdf_ids=attach_pdf_ids or None,
        next_attempt_at=not_before,
        test=test_to is not None,
        topic_id=topic_id,
        to_extra=to_extra or None,
        cc=cc or None,
        bcc=bcc or None,
    )


def queue_message(
    template,
    *,
    module,
    record,
    sender_user,
    dedupe_key=None,
    enqueue=True,
    test_to=None,
    topic_id=None,
):
    """Write the ledger row for one recipient, then queue its id (a row held back by the
    suppression list is written ``suppressed`` and not queued)."""
    message = new_message(
        template,
        module=module,
        record=record,
        sender_user=sender_user,
        dedupe_key=dedupe_key,
        test_to=test_to,
        topic_id=topic_id,
    )
    held = consent.hold_back([message])
    db.session.add(message)
    db.session.commit()
    if enqueue and not held:
        enqueue_ids([message.id])
    return message


def queue_messages(messages):
    """Write the rows ``messages`` (from ``new_message``), then queue them: at once, or
    those held back (``not_before``) for their time. Rows the suppression list holds
    back (``consent.hold_back``) are written ``suppressed``, with the reason, and not
    queued."""
    held = {id(m) for m in consent.hold_back(messages)}
    db.session.add_all(messages)
    db.session.commit()
    enqueue_going([m for m in messages if id(m) not in held])


def enqueue_going(messages):
    """Queue the written (committed) rows ``messages`` the suppression list let through: at
    once, or those held back (``not_before``) for their time."""
    enqueue_ids([m.id for m in messages if m.next_attempt_at is None])
    for message in messages:
        if message.next_attempt_at is not None:
            enqueue_at(message.id, message.next_attempt_at)


def known_dedupe_keys(dedupe_keys):
    """Which of ``dedupe_keys`` the ledger holds already (one query)."""
    if not dedupe_keys:
        return set()
    return set(
        db.session.scalars(db.select(Message.dedupe_key).where(Message.dedupe_key.in_(dedupe_keys)))
    )


class RowBuilder:
    """Ledger rows, as plain values for ``write_rows``, of many recipients of one template
    from one sender (a campaign's audience).

    Each recipient gets the version in their language and the From and locale a
    single message would (``new_message``); the sender and each version are
    looked up once. Each row carries the campaign's subscription topic (``topic_id``),
    and is written as queued at once (``enqueued_at``: ``enqueue_written`` queues its
    jobs without writing the rows again; a row whose job never reached Redis is queued
    again by the dispatcher ``STALE_ENQUEUE_SECONDS`` later, as any lost job).
    """

    def __init__(self, template, sender_user, campaign_id=None, topic_id=None):
        self.template, self.sender_user, self.campaign_id = template, sender_user, campaign_id
        self.topic_id = topic_id
        self.sender = resolve_sender(sender_user)
        self.versions = {}

    def row(self, recipient, *, module, record_id, dedupe_key):
        """The row of ``recipient`` (a Recipient), for record ``module`` ``record_id``."""
        version = self._version(recipient.language)
        now = utcnow()
        return {
            "dedupe_key": dedupe_key,
            "campaign_id": self.campaign_id,
            "template_version_id": version.id,
            # A campaign goes to an audience: its mail is marketing, whatever the template.
            "purpose": consent.MARKETING,
            "topic_id": self.topic_id,
            "sender_id": self.sender_user.id if self.sender_user is not None else None,
            "contact_id": recipient.contact_id,
            "organisation_id": recipient.organisation_id,
            "record_module": module,
            "record_id": record_id,
            "recipient_email": recipient.email,
            "recipient_name": recipient.name,
            **_sender_and_locale(version, self.sender, recipient.language),
            "token": new_token(),
            "state": "queued",
            "created_at": now,
            "enqueued_at": now,
        }

    def _version(self, language):
        if language not in self.versions:
            self.versions[language] = version_for(self.template, language)
        return self.versions[language]


def write_rows(rows):
    """Insert ``rows`` (from ``RowBuilder``) in one statement and commit; return the ids of
    those rows still queued, in order.

    A row whose dedupe key the ledger holds already is left as it is, so writing
    the same rows twice (a start run again, two dispatchers at once) adds nothing.
    The rows are then found by their keys, through their unique index. That query
    is planned afresh each time on PostgreSQL: prepared (as psycopg does with a
    statement run five times), it kept the plan made while the ledger was nearly
    empty, a scan of the whole table, and a first start's cost grew with the
    square of its size. A ``RETURNING`` insert is no better: its thousand-row
    statement is parsed anew in Python for every chunk.
    """
    if not rows:
        return []
    dialect = db.engine.dialect.name
    db.session.execute(insert_ignoring(dialect, Message.__table__, ("dedupe_key",)), rows)
    db.session.commit()
    if dialect == "postgresql":  # see above: planned for the table as it is now, every time
        fresh_plans = "SET LOCAL plan_cache_mode = force_custom_plan"  # pragma: no mutate
        db.session.execute(text(fresh_plans))
    by_key = db.select(Message.id, Message.state).where(
        Message.dedupe_key.in_([row["dedupe_key"] for row in rows])
    )
    return sorted(row_id for row_id, state in db.session.execute(by_key) if state == "queued")


def counts(campaign_id, states=None):
    """``{state: rows}`` of the campaign's ledger (only ``states``, when given), read from
    the index on campaign and state alone (``count(*)``: counting ids would read every row
    of a million-recipient campaign from the table)."""
    query = (
        db.select(Message.state, func.count())
        .where(Message.campaign_id == campaign_id)
        .group_by(Message.state)
    )
    if states is not None:
        query = query.where(Message.state.in_(states))
    return dict(db.session.execute(query).all())


def cancel_queued(campaign_id):
    """Mark the campaign's rows not yet claimed cancelled; the rest stay as they are."""
    _update_queued(campaign_id, state="cancelled")


def queue_again(campaign_id):
    """Queue every queued row of the campaign now (it was paused); return how many."""
    _update_queued(campaign_id, enqueued_at=None)
    query = (
        db.select(Message.id)
        .where(Message.campaign_id == campaign_id, Message.state == "queued")
        .order_by(Message.id)
    )
    ids = list(db.session.scalars(query))
    enqueue_ids(ids)
    return len(ids)


def _update_queued(campaign_id, **values):
    db.session.execute(
        update(Message)
        .where(Message.campaign_id == campaign_id, Message.state == "queued")
        .values(**values),
        execution_options=UNSYNCED,  # pragma: no mutate
    )
    db.session.commit()


def enqueue_ids(ids):
    """Put message ids on the e-mail queue in batches (jobs never carry bodies).

    All the jobs go to Redis in one round trip, then the rows are marked as
    queued in one transaction: workers start on the first batch at once.
    Inside ``deferred_enqueue`` the ids are kept and queued together at its end.
    """
    ids = list(ids)
    if not ids:
        return
    kept = _DEFERRED.get()
    if kept is not None:
        kept.extend(ids)
        return
    enqueue_written(ids)
    _set_enqueued(ids)


#: Inside ``deferred_enqueue``: the ids ``enqueue_ids`` was given (their rows committed).
_DEFERRED = contextvars.ContextVar("deferred_enqueue", default=None)


@contextmanager
def deferred_enqueue():
    """Queue the ids ``enqueue_ids`` is given inside together, in full batches, at the end
    (a batch of events, each queuing a message): a job per batch, not per message. Ids
    not queued because of an error are queued again by the dispatcher, as lost jobs are."""
    if _DEFERRED.get() is not None:  # inside another: its end queues them
        yield
        return
    kept = []
    token = _DEFERRED.set(kept)
    try:
        yield
    finally:
        _DEFERRED.reset(token)
    enqueue_ids(kept)


def enqueue_written(ids):
    """Put the ids of rows written with their ``enqueued_at`` (``RowBuilder``) on the e-mail
    queue in batches, all in one round trip; the rows are not written again."""
    size = current_app.config["BATCH_SIZE"]
    batches = [ids[start : start + size] for start in range(0, len(ids), size)]
    if batches:
        broker.enqueue_many(broker.EMAILS, broker.SEND_MESSAGES, [(batch,) for batch in batches])


def enqueue_at(message_id, when):
    """Queue one message id for ``when`` (naive UTC) through RQ's scheduler.

    The row's ``enqueued_at`` is its due time, so the dispatcher queues it
    again only if the scheduled job has not run a while after it was due.
    """
    broker.enqueue_at(broker.EMAILS, when, broker.SEND_MESSAGES, [message_id])
    db.session.execute(
        update(Message).where(Message.id == message_id).values(enqueued_at=when),
        execution_options=UNSYNCED,  # pragma: no mutate
    )
    db.session.commit()


def _set_enqueued(ids):
    now = utcnow()
    for start in range(0, len(ids), MARK_CHUNK):
        db.session.execute(
            update(Message)
            .where(Message.id.in_(ids[start : start + MARK_CHUNK]))
            .values(enqueued_at=now),
            execution_options=UNSYNCED,  # pragma: no mutate
        )
    db.session.commit()


def dispatch_due(gate=CLOSED):
    """Queue every queued row that is due and has no live job; return how many.

    Rows of a campaign that ``gate`` does not let send now wait for it.
    """
    now = utcnow()
    stale = timedelta(seconds=current_app.config["STALE_ENQUEUE_SECONDS"])
    stmt = db.select(Message.id).where(
        Message.state == "queued",
        or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
        or_(Message.enqueued_at.is_(None), Message.enqueued_at < now - stale),
        may_go_out(gate),
    )
    ids = list(db.session.scalars(stmt))
    if ids:
        enqueue_ids(ids)
    return len(ids)


_updates = {}


def _record(message, recorder, **values):
    """Write ``values`` (plus the Message-ID and subject the row carries by now) to the
    row of ``message`` and commit, through ``recorder`` or the session."""
    values.setdefault("message_id", message.message_id)
    values.setdefault("subject", message.subject)
    names = tuple(sorted(values))
    statement = _updates.get(names)  # pragma: no mutate
    if statement is None:
        statement = (
            update(Message)
            .where(Message.id == bindparam("row_id"))
            .values({name: bindparam(f"new_{name}") for name in names})
        )
        _updates[names] = statement  # pragma: no mutate
    params = {f"new_{name}": value for name, value in values.items()}
    params["row_id"] = message.id
    if recorder is None:
        db.session.execute(statement, params, execution_options=UNSYNCED)  # pragma: no mutate
        db.session.commit()
    else:
        recorder.execute(statement, params)
    for name, value in values.items():
        set_committed_value(message, name, value)


def mark_sent(message, message_id, reply, recorder=None):
    """Record the message as sent; subscribed webhooks hear ``message.sent`` (written with
    the outcome in the session's transaction, or right after it through ``recorder``)."""
    sent_at = utcnow()
    if recorder is None:
        _emit_sent(message, message_id, sent_at)
    _record(
        message,
        recorder,
        state="sent",
        message_id=message_id,
        smtp_reply=reply,
        sent_at=sent_at,
        lease_until=None,
        last_error="",
    )
    if recorder is not None:
        _emit_sent(message, message_id, sent_at, recorder)


def _emit_sent(message, message_id, sent_at, recorder=None):
    if not webhooks.subscribers("message.sent"):
        return
    data = sent_data(message, message_id, sent_at)
    if recorder is None:
        webhooks.emit("message.sent", data)
        return
    recorder.wait()  # the outcome first: its own error is the sending loop's to handle
    try:
        webhooks.emit("message.sent", data, recorder)
    except Exception:  # a webhook never stops sending
        log.exception("message.sent of message %s not recorded for webhooks", message.id)


def sent_data(message, message_id, sent_at):
    """What ``message.sent`` tells about a message."""
    return {
        "message_id": message.id,
        "message_id_header": message_id,
        "to": message.recipient_email,
        "subject": message.subject,
        "campaign_id": message.campaign_id,
        "record": {"module": message.record_module, "id": message.record_id},
        "sent_at": sent_at.isoformat(),
    }


def mark_failed(message, error, recorder=None, **values):
    _record(message, recorder, state="failed", last_error=str(error), lease_until=None, **values)


def mark_retry(message, error, recorder=None):
    """Back to queued with exponential backoff, or failed after the last attempt."""
    if message.attempts >= current_app.config["MAX_ATTEMPTS"]:
        mark_failed(message, f"gave up after {message.attempts} attempts: {error}", recorder)
        return
    base = current_app.config["RETRY_BASE_SECONDS"]
    delay = base * 2 ** (message.attempts - 1)
    _record(
        message,
        recorder,
        state="queued",
        last_error=str(error),
        lease_until=None,
        enqueued_at=None,
        next_attempt_at=utcnow() + timedelta(seconds=delay * random.uniform(0.8, 1.2)),
    )


def release(message, recorder=None):
    """Give a claimed message back unsent (its campaign was paused meanwhile)."""
    _record(
        message,
        recorder,
        state="queued",
        lease_until=None,
        enqueued_at=None,
        attempts=max(message.attempts - 1, 0),
    )


def mark_suppressed(message, reason, recorder=None):
    _record(message, recorder, state="suppressed", last_error=reason, lease_until=None)

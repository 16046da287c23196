"""The ledger: Message rows are written first, then their ids are queued.

State moves queued -> sending (claimed with a lease) -> sent | failed, or back
to queued with a later ``next_attempt_at`` after a temporary failure. The
periodic dispatcher re-queues rows that are due and rows whose lease expired
(a worker died), so no message is lost even when a job or a worker is.
"""

import hashlib
import random
import re
import secrets
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm.attributes import set_committed_value

from designer import broker
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.mail.sender import resolve_sender
from designer.records import Recipient, recipient_of
from designer.templating import TemplateVersion, choose_locale, version_for


class NoRecipient(ValueError):
    """The record has no e-mail address."""


def new_token():
    """An unguessable per-message token (tracking, unsubscribe)."""
    return secrets.token_urlsafe(24)


def new_message(template, *, module, record, sender_user, dedupe_key=None, locale=None,
                test_to=None, to=None):
    """An unsaved ledger row for the recipient of ``record`` (or ``to``, a Recipient).

    ``template`` is a Template (the variant in the recipient's language is
    chosen) or a pinned TemplateVersion. ``test_to`` (a user) receives the
    message instead of the record's recipient: a test send, kept out of the
    record's history. ``sender_user`` None sends from the system.
    """
    recipient = to or recipient_of(module, record)
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
    """Put message ids on the e-mail queue in batches (jobs never carry bodies).

    All the jobs go to Redis in one round trip, then the rows are marked as
    queued in one transaction: workers start on the first batch at once.
    """
    ids = list(ids)
    if not ids:
        return
    size = current_app.config["BATCH_SIZE"]
    batches = [ids[start : start + size] for start in range(0, len(ids), size)]
    broker.enqueue_many(broker.EMAILS, broker.SEND_MESSAGES, [(batch,) for batch in batches])
    _set_enqueued(ids)


def enqueue_at(message_id, when):
    """Queue one message id for ``when`` (naive UTC) through RQ's scheduler.

    The row's ``enqueued_at`` is its due time, so the dispatcher queues it
    again only if the scheduled job has not run a while after it was due.
    """
    broker.enqueue_at(broker.EMAILS, when, broker.SEND_MESSAGES, [message_id])
    db.session.execute(update(Message).where(Message.id == message_id)
                       .values(enqueued_at=when),
                       execution_options={"synchronize_session": False})
    db.session.commit()


def _set_enqueued(ids):
    now = utcnow()
    for start in range(0, len(ids), 1000):
        db.session.execute(
            update(Message).where(Message.id.in_(ids[start : start + 1000]))
            .values(enqueued_at=now),
            execution_options={"synchronize_session": False},
        )
    db.session.commit()


def claim(ids):
    """Atomically move due, queued rows to sending with a lease; return the claimed ids.

    Rows of a campaign that is not sending (paused, cancelled) are left alone.
    """
    return claim_lease(ids).ids


class Lease:
    """The rows one worker claimed, and until when they are its own.

    The lease's end time doubles as the holder's mark: a row is still ours
    while it is ``sending`` with exactly that ``lease_until``. ``renew``
    pushes the end of the rows not yet done further out before it comes, so
    a long batch (a slow server, a rate limit) never sees its rows requeued
    under it; ``holds`` says whether a row may still be sent.
    """

    def __init__(self, ids, until, seconds):
        self.ids, self.until, self.seconds = ids, until, seconds
        self.lost = set()
        self.renewed_at = time.monotonic()

    def holds(self, message_id):
        return message_id not in self.lost and time.monotonic() < self.renewed_at + self.seconds

    def renew_if_due(self, open_ids):
        """Renew once a third of the lease has passed; ``open_ids()`` gives the rows not
        yet done."""
        if time.monotonic() - self.renewed_at < self.seconds / 3:
            return
        open_ids = [i for i in open_ids() if i not in self.lost]
        until = utcnow() + timedelta(seconds=self.seconds)
        renewed = set()
        for start in range(0, len(open_ids), 1000):
            chunk = open_ids[start : start + 1000]
            renewed.update(db.session.scalars(
                update(Message)
                .where(Message.id.in_(chunk), Message.state == "sending",
                       Message.lease_until == self.until)
                .values(lease_until=until).returning(Message.id),
                execution_options={"synchronize_session": False}))
        db.session.commit()
        self.lost.update(set(open_ids) - renewed)
        self.until, self.renewed_at = until, time.monotonic()


def claim_lease(ids):
    """``claim``, returning the ``Lease`` that holds the claimed rows."""
    now = utcnow()
    seconds = current_app.config["LEASE_SECONDS"]
    until = now + timedelta(seconds=seconds)
    started = time.monotonic()
    sending = _sending_campaigns()
    stmt = (
        update(Message)
        .where(
            Message.id.in_(ids),
            Message.state == "queued",
            or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
            or_(Message.campaign_id.is_(None), Message.campaign_id.in_(sending)),
        )
        .values(state="sending", lease_until=until, attempts=Message.attempts + 1)
        .returning(Message.id)
    )
    claimed = list(db.session.scalars(stmt, execution_options={"synchronize_session": False}))
    db.session.commit()
    lease = Lease(claimed, until, seconds)
    lease.renewed_at = started
    return lease


def _sending_campaigns():
    # Imported here: campaigns queue mail through this module, so a module-level
    # import would be circular.
    from designer.campaigns.models import Campaign

    return db.select(Campaign.id).where(Campaign.state == "sending")


class Recorder:
    """Outcome writes of one batch on a connection of their own, each one statement
    committed on its own (autocommit, synchronous commit: one round trip).

    On PostgreSQL a write goes out without waiting for its answer (libpq's
    asynchronous calls on a prepared statement), so the next message is merged
    while the database commits; ``wait`` blocks until that commit is done, and
    delivery calls it before the next message goes on the wire. Every other
    write, and leaving the ``with`` block, waits for the one before it. So a
    worker never has more than one message sent and not yet recorded, as with
    a plain write and commit per message.
    """

    def __init__(self):
        self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.pgconn = None
        if self.connection.dialect.driver == "psycopg":
            self.pgconn = self.connection.connection.dbapi_connection.pgconn
        self.prepared = {}
        self.pending = False

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        try:
            self.wait()
        except Exception:
            if exc is None:
                raise
        finally:
            self.connection.close()

    def execute(self, statement, params):
        """Write and commit (on PostgreSQL possibly still under way: see ``wait``)."""
        if self.pgconn is None:
            self.connection.execute(statement, params)
            return
        self.wait()
        name, names = self._prepare(statement)
        self.pgconn.send_query_prepared(name, [_pg_text(params[n]) for n in names])
        self.pending = True

    def wait(self):
        """Return once the last write is committed; raise the database's error if it failed."""
        if not self.pending:
            return
        self.pending = False
        self._result(lambda: None)

    def _prepare(self, statement):
        found = self.prepared.get(statement)
        if found is None:
            names = []

            def placeholder(match):
                names.append(match.group(1))
                return f"${len(names)}"

            sql = str(statement.compile(dialect=self.connection.dialect))
            sql = _PYFORMAT.sub(placeholder, sql).replace("%%", "%")
            # Named after its text: the connection (pooled) may have it from a batch before.
            digest = hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()
            name = f"designer_ledger_{digest}".encode()
            try:
                self._result(lambda: self.pgconn.send_prepare(name, sql.encode()))
            except Exception as exc:
                if getattr(exc, "sqlstate", None) != DUPLICATE_PREPARED_STATEMENT:
                    raise
            found = self.prepared[statement] = (name, names)
        return found

    def _result(self, send):
        from psycopg import errors, pq

        send()
        failed = None
        while (result := self.pgconn.get_result()) is not None:
            if result.status != pq.ExecStatus.COMMAND_OK and failed is None:
                failed = result
        if failed is not None:
            raise errors.error_from_result(failed)


_PYFORMAT = re.compile(r"%\((\w+)\)s")
DUPLICATE_PREPARED_STATEMENT = "42P05"


def _pg_text(value):
    """A parameter in PostgreSQL's text format."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ").encode()
    return str(value).encode()


_updates = {}


def _record(message, recorder, **values):
    """Write ``values`` (plus the Message-ID and subject the row carries by now) to the
    row of ``message`` and commit, through ``recorder`` or the session."""
    values.setdefault("message_id", message.message_id)
    values.setdefault("subject", message.subject)
    names = tuple(sorted(values))
    statement = _updates.get(names)
    if statement is None:
        statement = update(Message).where(Message.id == bindparam("row_id")).values(
            {name: bindparam(f"new_{name}") for name in names})
        _updates[names] = statement
    params = {f"new_{name}": value for name, value in values.items()}
    params["row_id"] = message.id
    if recorder is None:
        db.session.execute(statement, params,
                           execution_options={"synchronize_session": False})
        db.session.commit()
    else:
        recorder.execute(statement, params)
    for name, value in values.items():
        set_committed_value(message, name, value)


def mark_sent(message, message_id, reply, recorder=None):
    _record(message, recorder, state="sent", message_id=message_id, smtp_reply=reply,
            sent_at=utcnow(), lease_until=None, last_error="")


def mark_failed(message, error, recorder=None, **values):
    _record(message, recorder, state="failed", last_error=str(error), lease_until=None,
            **values)


def mark_retry(message, error, recorder=None):
    """Back to queued with exponential backoff, or failed after the last attempt."""
    if message.attempts >= current_app.config["MAX_ATTEMPTS"]:
        mark_failed(message, f"gave up after {message.attempts} attempts: {error}", recorder)
        return
    base = current_app.config["RETRY_BASE_SECONDS"]
    delay = base * 2 ** (message.attempts - 1)
    _record(message, recorder, state="queued", last_error=str(error), lease_until=None,
            enqueued_at=None,
            next_attempt_at=utcnow() + timedelta(seconds=delay * random.uniform(0.8, 1.2)))


def release(message, recorder=None):
    """Give a claimed message back unsent (its campaign was paused meanwhile)."""
    _record(message, recorder, state="queued", lease_until=None, enqueued_at=None,
            attempts=max(message.attempts - 1, 0))


def mark_suppressed(message, reason, recorder=None):
    _record(message, recorder, state="suppressed", last_error=reason, lease_until=None)


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
    stale = timedelta(seconds=current_app.config["STALE_ENQUEUE_SECONDS"])
    stmt = db.select(Message.id).where(
        Message.state == "queued",
        or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
        or_(Message.enqueued_at.is_(None), Message.enqueued_at < now - stale),
    )
    sending = _sending_campaigns()
    stmt = stmt.where(or_(Message.campaign_id.is_(None), Message.campaign_id.in_(sending)))
    ids = list(db.session.scalars(stmt))
    if ids:
        enqueue_ids(ids)
    return len(ids)

"""Sent copies: every e-mail a user sends is kept in the Sent folder of their own mailbox.

Right after a successful send, delivery calls ``record_copy`` with the exact
bytes that went out; it only writes a pending ``SentCopy`` row and never
talks to IMAP. The periodic ``append_sent_copies`` job then appends each due
copy to the sender's Sent folder (IMAP APPEND through ``designer.mail.imap``,
flagged ``\\Seen``, dated when it was sent) and drops the bytes. A mailbox
that is down or refuses the login never fails or repeats a send: its copies
wait and are retried on their own (``SENT_COPY_RETRY_BASE_SECONDS``,
doubling, at most ``SENT_COPY_RETRY_MAX_SECONDS`` apart; "failed" after
``SENT_COPY_MAX_ATTEMPTS``: ``designer.config``), and their state is shown
on the message. Saving the mailbox settings again makes waiting and failed
copies due at once (``make_due``; linking: ``designer.mail.mailbox``).
"""

import logging
from contextlib import suppress
from datetime import UTC, timedelta

from flask import current_app
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from designer.clock import utcnow
from designer.extensions import db
from designer.mail import imap
from designer.mail.imap import MailboxError
from designer.mail.models import Mailbox, Message, SentCopy

log = logging.getLogger(__name__)


# Copies -------------------------------------------------------------------------------


def record_copy(message, raw_bytes, mailbox):
    """Keep the bytes just sent for the sender's ``mailbox`` (their ``Mailbox``); None when
    they have none.

    Never talks to IMAP and never raises: a problem here must not touch the send.
    """
    message_id = message.id
    try:
        if mailbox is None or not raw_bytes:
            return None
        existing = db.session.scalar(select(SentCopy).where(SentCopy.message_id == message_id))
        if existing is not None:
            return existing
        copy = SentCopy(
            message_id=message_id, mailbox_id=mailbox.id, raw=bytes(raw_bytes), state="pending"
        )
        db.session.add(copy)
        db.session.commit()
        return copy
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("cannot keep the sent copy of message %s", message_id)
        return None


def retry_delay(attempts):
    """Seconds before the next try after ``attempts`` failed ones: doubling from
    ``SENT_COPY_RETRY_BASE_SECONDS``, at most ``SENT_COPY_RETRY_MAX_SECONDS``."""
    config = current_app.config
    return min(
        config["SENT_COPY_RETRY_BASE_SECONDS"] * 2 ** max(attempts - 1, 0),
        config["SENT_COPY_RETRY_MAX_SECONDS"],
    )


def append_copy(copy_id, connections=None):
    """Append one pending, due copy to its Sent folder; return its state afterwards.

    ``connections`` (from ``append_due_copies``) shares one login per mailbox.
    """
    if not _claim(copy_id):
        copy = db.session.get(SentCopy, copy_id, populate_existing=True)
        if copy is None:
            raise LookupError(f"no sent copy with id {copy_id}")
        return copy.state
    copy = db.session.get(SentCopy, copy_id, populate_existing=True)
    own = connections is None
    connections = connections or _Connections()
    try:
        folder = _append(copy, connections)
    except MailboxError as exc:
        _record_failure(copy, exc)
    else:
        _record_success(copy, folder)
    finally:
        if own:
            connections.close()
    return copy.state


def _due(now):
    return or_(SentCopy.next_attempt_at.is_(None), SentCopy.next_attempt_at <= now)


def _claim(copy_id):
    """Atomically take a pending, due copy (counting the attempt); False if not ours."""
    now = utcnow()
    result = db.session.execute(
        update(SentCopy)
        .where(SentCopy.id == copy_id, SentCopy.state == "pending", _due(now))
        .values(
            attempts=SentCopy.attempts + 1,
            next_attempt_at=now + timedelta(seconds=current_app.config["SENT_COPY_CLAIM_SECONDS"]),
        ),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    return result.rowcount == 1


def _append(copy, connections):
    mailbox = db.session.get(Mailbox, copy.mailbox_id)
    message = db.session.get(Message, copy.message_id)
    conn, folder = connections.get(mailbox)
    try:
        with imap.explained(f"cannot store the copy in “{folder}”"):
            if not (_tried_before(copy) and imap.has_message(conn, folder, message.message_id)):
                imap.append_message(conn, folder, copy.raw, _sent_time(message, copy))
    except MailboxError as exc:
        if exc.broken:
            connections.forget(mailbox, exc)
        raise
    return folder


def _tried_before(copy):
    """An earlier try may have stored the copy before its answer was lost."""
    return copy.attempts > 1 or bool(copy.last_error)


def _sent_time(message, copy):
    return (message.sent_at or copy.created_at or utcnow()).replace(tzinfo=UTC)


def _record_success(copy, folder):
    copy.state = "done"
    copy.folder = folder
    copy.appended_at = utcnow()
    copy.raw = None
    copy.last_error = ""
    copy.next_attempt_at = None
    db.session.commit()


def _record_failure(copy, error):
    copy.last_error = str(error)[:2000]
    if copy.attempts >= current_app.config["SENT_COPY_MAX_ATTEMPTS"]:
        copy.state = "failed"
        copy.next_attempt_at = None
    else:
        copy.next_attempt_at = utcnow() + timedelta(seconds=retry_delay(copy.attempts))
    db.session.commit()
    log.info("sent copy %s not stored (attempt %s): %s", copy.id, copy.attempts, error)


class _Connections:
    """One login per mailbox during a run; a mailbox that failed is not tried again in it."""

    def __init__(self):
        self.opened = {}  # mailbox id -> (connection, Sent folder)
        self.failed = {}  # mailbox id -> MailboxError

    def get(self, mailbox):
        if mailbox.id in self.failed:
            raise self.failed[mailbox.id]
        if mailbox.id not in self.opened:
            try:
                self.opened[mailbox.id] = _connect_with_folder(mailbox)
            except MailboxError as exc:
                self.failed[mailbox.id] = exc
                raise
        return self.opened[mailbox.id]

    def forget(self, mailbox, error):
        conn, _ = self.opened.pop(mailbox.id, (None, None))
        imap.close(conn)
        self.failed[mailbox.id] = error

    def close(self):
        for conn, _ in self.opened.values():
            imap.close(conn)
        self.opened.clear()


def _connect_with_folder(mailbox):
    conn = imap.connect(mailbox)
    try:
        return conn, imap.find_sent_folder(conn, mailbox.sent_folder)
    except MailboxError:
        imap.close(conn)
        raise


def append_due_copies(limit=200):
    """Append every pending copy that is due (at most ``limit``); return how many were stored."""
    query = (
        select(SentCopy.id)
        .where(SentCopy.state == "pending", _due(utcnow()))
        .order_by(SentCopy.id)
        .limit(limit)
    )
    ids = list(db.session.scalars(query))
    connections = _Connections()
    stored = 0
    try:
        for copy_id in ids:
            with suppress(LookupError):  # its mailbox was removed meanwhile
                stored += append_copy(copy_id, connections) == "done"
    finally:
        connections.close()
    return stored


# The mailbox's copies ------------------------------------------------------------------


def make_due(mailbox):
    """Waiting copies of ``mailbox`` are tried now; copies that gave up start over (its
    settings were saved again). Does not commit."""
    db.session.execute(
        update(SentCopy)
        .where(
            SentCopy.mailbox_id == mailbox.id,
            SentCopy.raw.is_not(None),
            SentCopy.state.in_(("pending", "failed")),
        )
        .values(
            attempts=case((SentCopy.state == "failed", 0), else_=SentCopy.attempts),
            state="pending",
            next_attempt_at=None,
        ),
        execution_options={"synchronize_session": False},
    )


def forget_copies(mailbox):
    """Drop every copy of ``mailbox``, waiting ones included (it is being removed). Does not
    commit."""
    db.session.execute(
        delete(SentCopy).where(SentCopy.mailbox_id == mailbox.id),
        execution_options={"synchronize_session": False},
    )


# Reading the state ------------------------------------------------------------------


def copy_state(message):
    """The sent copy of ``message`` (a Message or its id) for pages and the API, or None."""
    message_id = getattr(message, "id", message)
    copy = db.session.scalar(select(SentCopy).where(SentCopy.message_id == message_id))
    if copy is None:
        return None
    return {
        "state": copy.state,
        "attempts": copy.attempts,
        "last_error": copy.last_error,
        "folder": copy.folder,
        "appended_at": _iso(copy.appended_at),
        "next_attempt_at": _iso(copy.next_attempt_at) if copy.state == "pending" else None,
    }


def mailbox_status(mailbox):
    """How the copies of ``mailbox`` are doing: counts by state and the latest problem."""
    counts = dict(
        db.session.execute(
            select(SentCopy.state, func.count())
            .where(SentCopy.mailbox_id == mailbox.id)
            .group_by(SentCopy.state)
        ).all()
    )
    problem = db.session.scalar(
        select(SentCopy.last_error)
        .where(
            SentCopy.mailbox_id == mailbox.id, SentCopy.state != "done", SentCopy.last_error != ""
        )
        .order_by(SentCopy.id.desc())
        .limit(1)
    )
    return {
        "pending": counts.get("pending", 0),
        "done": counts.get("done", 0),
        "failed": counts.get("failed", 0),
        "last_error": problem or "",
    }


def _iso(value):
    return value.isoformat() + "Z" if value else None

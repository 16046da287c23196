"""Claiming: a worker takes queued rows with a lease, and loses them when it dies.

A claim moves due, queued rows to ``sending`` in one statement, so two workers
given the same ids never both get a row. The lease ends at ``lease_until``; a
worker renews it as its batch goes, and the reaper (``requeue_expired_leases``)
puts the rows of a worker that died back in the queue. Rows of a campaign the
gate does not let send (``designer.mail.gate``) are never claimed.
"""

from datetime import timedelta
from time import monotonic

from flask import current_app
from sqlalchemy import or_, update

from designer.clock import utcnow
from designer.extensions import db
from designer.mail.gate import CLOSED, may_go_out
from designer.mail.models import Message

#: Rows renewed by one UPDATE.
RENEW_CHUNK = 1000
#: The UPDATEs leave the session's objects alone: each is followed by a commit, which
#: expires them all (so synchronising them first would change nothing but the time taken).
UNSYNCED = {"synchronize_session": False}


class Lease:
    """The rows one worker claimed, and until when they are its own.

    The lease's end time doubles as the holder's mark: a row is still ours
    while it is ``sending`` with exactly that ``lease_until``. ``renew``
    pushes the end of the rows not yet done further out before it comes, so
    a long batch (a slow server, a rate limit) never sees its rows requeued
    under it; ``holds`` says whether a row may still be sent.
    """

    def __init__(self, ids, until, seconds, renewed_at):
        """``renewed_at``: when (``time.monotonic``) the lease began, at the latest."""
        self.ids, self.until, self.seconds = ids, until, seconds
        self.lost = set()
        self.renewed_at = renewed_at

    def holds(self, message_id):
        return message_id not in self.lost and monotonic() < self.renewed_at + self.seconds

    def renew_if_due(self, open_ids):
        """Renew once a third of the lease has passed; ``open_ids()`` gives the rows not
        yet done."""
        if monotonic() - self.renewed_at < self.seconds / 3:
            return
        open_ids = [i for i in open_ids() if i not in self.lost]
        until = utcnow() + timedelta(seconds=self.seconds)
        renewed = set()
        for start in range(0, len(open_ids), RENEW_CHUNK):
            chunk = open_ids[start : start + RENEW_CHUNK]
            renewed.update(
                db.session.scalars(
                    update(Message)
                    .where(
                        Message.id.in_(chunk),
                        Message.state == "sending",
                        Message.lease_until == self.until,
                    )
                    .values(lease_until=until)
                    .returning(Message.id),
                    execution_options=UNSYNCED,  # pragma: no mutate - equivalent: see UNSYNCED
                )
            )
        db.session.commit()
        self.lost.update(set(open_ids) - renewed)
        self.until, self.renewed_at = until, monotonic()


def claim_lease(ids, gate=CLOSED):
    """Atomically move the due, queued rows of ``ids`` to sending with a lease; return the
    ``Lease`` that holds the rows claimed.

    Rows of a campaign that ``gate`` does not let send (paused, cancelled) are left alone.
    """
    now = utcnow()
    seconds = current_app.config["LEASE_SECONDS"]
    until = now + timedelta(seconds=seconds)
    started = monotonic()
    stmt = (
        update(Message)
        .where(
            Message.id.in_(ids),
            Message.state == "queued",
            or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
            may_go_out(gate),
        )
        .values(state="sending", lease_until=until, attempts=Message.attempts + 1)
        .returning(Message.id)
    )
    claimed = set(db.session.scalars(stmt, execution_options=UNSYNCED))  # pragma: no mutate
    db.session.commit()
    # In the order given (the queue's): an UPDATE returns rows in the order it found them.
    return Lease([i for i in dict.fromkeys(ids) if i in claimed], until, seconds, started)


def requeue_expired_leases():
    """Rows stuck in sending past their lease (a dead worker) go back to queued."""
    result = db.session.execute(
        update(Message)
        .where(Message.state == "sending", Message.lease_until < utcnow())
        .values(state="queued", lease_until=None, enqueued_at=None, next_attempt_at=None),
        execution_options=UNSYNCED,  # pragma: no mutate - equivalent: see UNSYNCED
    )
    db.session.commit()
    return result.rowcount

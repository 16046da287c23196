"""The counts of an organisation or contact as the CRM shows them: exact totals, never increments.

A contact's counts are over the messages sent to it. An organisation's are
over the messages sent to it or to any of its contacts, as its page in
Designer shows them. Totals are recomputed from the ledger each time, so a
write that is retried or repeated can never count anything twice.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, union

from designer.extensions import db
from designer.mail.models import Message
from designer.records.models import Contact


@dataclass(frozen=True)
class Counts:
    opens: int = 0
    human_opens: int = 0
    last_opened: datetime | None = None
    last_sent: datetime | None = None

    def value(self, count):
        """The count called ``count`` (a key of ``writeback_fields.COUNTS``)."""
        return getattr(self, count)


def _totals(message_ids_of_key):
    """``{key: Counts}`` over ``(key, message id)`` rows, each message counted once per key."""
    pairs = message_ids_of_key.subquery()
    query = (
        db.select(
            pairs.c.key,
            func.coalesce(func.sum(Message.open_count), 0),
            func.coalesce(func.sum(Message.human_open_count), 0),
            func.max(Message.last_opened_at),
            func.max(Message.sent_at),
        )
        .join(Message, Message.id == pairs.c.message_id)
        .group_by(pairs.c.key)
    )
    return {
        key: Counts(int(opens), int(human), last_opened, last_sent)
        for key, opens, human, last_opened, last_sent in db.session.execute(query)
    }


def contact_counts(contact_ids):
    """``{contact id: Counts}`` (every id present; no mail: zeros)."""
    rows = db.select(Message.contact_id.label("key"), Message.id.label("message_id")).where(
        Message.contact_id.in_(list(contact_ids))
    )
    found = _totals(rows)
    return {contact_id: found.get(contact_id, Counts()) for contact_id in contact_ids}


def organisation_counts(organisation_ids):
    """``{organisation id: Counts}`` over its own mail and its contacts' (every id present)."""
    ids = list(organisation_ids)
    own = db.select(Message.organisation_id.label("key"), Message.id.label("message_id")).where(
        Message.organisation_id.in_(ids)
    )
    contacts = (
        db.select(Contact.organisation_id.label("key"), Message.id.label("message_id"))
        .join(Contact, Contact.id == Message.contact_id)
        .where(Contact.organisation_id.in_(ids))
    )
    found = _totals(union(own, contacts))
    return {organisation_id: found.get(organisation_id, Counts()) for organisation_id in ids}

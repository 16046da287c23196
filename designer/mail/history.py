"""A record's messages: the mail that went to the record's people, newest first.

A contact's history is the mail sent to that contact (about any record); an
organisation's, the mail sent to it or to one of its contacts; a quote's or an
invoice's, the mail about it that went to its contact or organisation. Test
sends and mail to colleagues (the owner, fixed addresses) are left out.
"""

from typing import NamedTuple

from sqlalchemy import or_

from designer import keyset
from designer.extensions import db
from designer.mail.models import Message

#: Modules whose records receive mail, so have a history.
MODULES = ("organisation", "contact", "quote", "invoice")


def messages_of(module, record):
    """A select of the messages of ``record`` (of ``module``), newest first."""
    if module == "contact":
        where = Message.contact_id == record.id
    elif module == "organisation":
        contact_ids = [contact.id for contact in record.contacts]
        where = or_(Message.organisation_id == record.id, Message.contact_id.in_(contact_ids))
    elif module in ("quote", "invoice"):
        where = (
            (Message.record_module == module)
            & (Message.record_id == record.id)
            & or_(Message.contact_id.is_not(None), Message.organisation_id.is_not(None))
        )
    else:
        raise ValueError(f"{module} records receive no mail")
    return db.select(Message).where(where).order_by(Message.created_at.desc(), Message.id.desc())


class HistoryPage(NamedTuple):
    """A page of a record's messages (``keyset.Page``) and how many it has in all."""

    messages: list
    total: int
    older: int | None
    newest: bool


def page_of(module, record, before=None):
    """One page of ``record``'s messages, newest first: those with ids below ``before``."""
    rows = messages_of(module, record)
    total = db.session.scalar(
        db.select(db.func.count()).select_from(rows.order_by(None).subquery())
    )
    page = keyset.newest_first(rows, Message.id, before)
    return HistoryPage(page.rows, total, page.older, page.newest)

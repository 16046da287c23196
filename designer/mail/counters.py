"""Open and click counters on the ledger rows, raised by tracking in batches.

Tracking stores each hit as an event of its own and then adds what a batch of
hits counted to the messages here: one ``UPDATE … SET n = n + :added`` per
message, all in one executemany, in the caller's transaction (so the events
and their counts are committed together or not at all).
"""

from sqlalchemy import DateTime, Integer, bindparam, case, update

from designer.extensions import db
from designer.mail.models import Message


def messages_by_token(tokens):
    """``{token: (message id, sent_at)}`` of the messages with these tracking tokens."""
    query = db.select(Message.token, Message.id, Message.sent_at).where(Message.token.in_(tokens))
    return {
        token: (message_id, sent_at) for token, message_id, sent_at in db.session.execute(query)
    }


def recipients_of(message_ids):
    """``{message id: recipient address}`` of these messages."""
    query = db.select(Message.id, Message.recipient_email).where(Message.id.in_(message_ids))
    return dict(db.session.execute(query).all())


def add_counts(totals):
    """Add to each message's counters; does not commit.

    ``totals`` holds one dict per message: ``mid`` (its id), ``opens``,
    ``human_opens``, ``clicks``, ``human_clicks`` (how many to add) and ``first``,
    ``last`` (its earliest and latest open in the batch, or None).
    """
    if totals:
        db.session.execute(_counter_update(), totals)


def _counter_update():
    messages = Message.__table__
    column = messages.c
    first, last = bindparam("first", type_=DateTime), bindparam("last", type_=DateTime)

    def add(name, param):
        return getattr(column, name) + bindparam(param, type_=Integer)

    return (
        update(messages)
        .where(column.id == bindparam("mid", type_=Integer))
        .values(
            open_count=add("open_count", "opens"),
            human_open_count=add("human_open_count", "human_opens"),
            click_count=add("click_count", "clicks"),
            human_click_count=add("human_click_count", "human_clicks"),
            first_opened_at=case(
                (column.first_opened_at.is_(None), first),
                (first < column.first_opened_at, first),
                else_=column.first_opened_at,
            ),
            last_opened_at=case(
                (column.last_opened_at.is_(None), last),
                (last > column.last_opened_at, last),
                else_=column.last_opened_at,
            ),
        )
    )

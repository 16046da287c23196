"""Tracking: opens and clicks per recipient, classified, counted atomically.

Each message carries an unguessable token; ``GET /o/<token>.gif`` records an
open and always answers the same 1x1 GIF, also for unknown tokens, so the
endpoint tells nothing about which tokens exist. Tracked links
(``/c/<token>``) redirect only to the link's stored URL. Every hit is an
append-only event; the message's counters are increased in the same
transaction with atomic ``UPDATE … SET n = n + 1`` (no read-modify-write).
"""

import base64
import re

from sqlalchemy import func, update

from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.tracking.classify import classify, reduce_address
from designer.tracking.models import TrackingEvent

PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PIXEL_TAG = re.compile(r'<img\s[^>]*src="[^"]*/o/[A-Za-z0-9_-]{16,64}\.gif"[^>]*>', re.IGNORECASE)

__all__ = ["PIXEL_GIF", "Hit", "link_clicks", "record_click", "record_open", "timeline",
           "without_pixel"]


class Hit:
    """What the request told about the client."""

    def __init__(self, method="GET", user_agent="", client_ip=""):
        self.method, self.user_agent, self.client_ip = method, user_agent or "", client_ip or ""


def without_pixel(html):
    """The HTML with the open pixel removed: viewing mail inside the app is no open."""
    return PIXEL_TAG.sub("", html)


def _message_by_token(token):
    return db.session.scalar(db.select(Message).where(Message.token == token))


def _event(message, kind, hit, link_index=None):
    now = utcnow()
    since = (now - message.sent_at).total_seconds() if message.sent_at else None
    kind_class = classify(method=hit.method, user_agent=hit.user_agent,
                          client_ip=hit.client_ip, seconds_after_send=since)
    db.session.add(TrackingEvent(
        message_id=message.id, kind=kind, link_index=link_index, at=now,
        user_agent=hit.user_agent[:500], client_network=reduce_address(hit.client_ip),
        classification=kind_class,
    ))
    return now, kind_class == "human"


def record_open(token, hit=None):
    """Count one open of the message with ``token``; False when no message has it."""
    message = _message_by_token(token)
    if message is None:
        return False
    now, human = _event(message, "open", hit or Hit())
    values = {"open_count": Message.open_count + 1, "last_opened_at": now,
              "first_opened_at": func.coalesce(Message.first_opened_at, now)}
    if human:
        values["human_open_count"] = Message.human_open_count + 1
    _increment(message.id, values)
    return True


def record_click(message, link_index, hit=None):
    """Count one click of link ``link_index`` of ``message``."""
    _, human = _event(message, "click", hit or Hit(), link_index)
    values = {"click_count": Message.click_count + 1}
    if human:
        values["human_click_count"] = Message.human_click_count + 1
    _increment(message.id, values)


def _increment(message_id, values):
    db.session.execute(update(Message).where(Message.id == message_id).values(**values),
                       execution_options={"synchronize_session": False})
    db.session.commit()


def link_clicks(message_id):
    """``{link index: (clicks, human clicks)}`` of one message."""
    query = (db.select(TrackingEvent.link_index, TrackingEvent.classification, func.count())
             .where(TrackingEvent.message_id == message_id, TrackingEvent.kind == "click")
             .group_by(TrackingEvent.link_index, TrackingEvent.classification))
    counts = {}
    for index, kind_class, count in db.session.execute(query):
        total, human = counts.get(index, (0, 0))
        counts[index] = (total + count, human + (count if kind_class == "human" else 0))
    return counts


def timeline(message_id):
    """The message's events, oldest first."""
    query = (db.select(TrackingEvent).where(TrackingEvent.message_id == message_id)
             .order_by(TrackingEvent.at, TrackingEvent.id))
    return db.session.scalars(query).all()

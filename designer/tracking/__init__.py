"""Tracking: opens and clicks per recipient, classified, counted atomically.

Each message carries an unguessable token, and tracking URLs carry it signed;
``GET /o/<token>.gif`` records an open and always answers the same 1x1 GIF,
also for unknown or forged tokens, so the endpoint tells nothing about which
tokens exist. Tracked links (``/c/<token>``) redirect only to the link's
stored URL. A hit is buffered in Redis in the request; ``flush`` writes each
as an append-only event and adds it to its message's counters with atomic
``UPDATE … SET n = n + :added`` (see ``designer.tracking.buffer``).
"""

import base64
import functools
import logging
import re

from redis.exceptions import RedisError
from sqlalchemy import func

from designer.extensions import db
from designer.tracking import buffer
from designer.tracking.models import TrackingEvent

PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PIXEL_TAG = re.compile(r'<img\s[^>]*src="[^"]*/o/[A-Za-z0-9_.-]{16,100}\.gif"[^>]*>', re.IGNORECASE)

__all__ = [
    "PIXEL_GIF",
    "Hit",
    "flush",
    "fresh_counts",
    "link_clicks",
    "record_click",
    "record_open",
    "timeline",
    "without_pixel",
]


class Hit:
    """What the request told about the client."""

    def __init__(self, method="GET", user_agent="", client_ip=""):
        self.method, self.user_agent, self.client_ip = method, user_agent or "", client_ip or ""


def without_pixel(html):
    """The HTML with the open pixel removed: viewing mail inside the app is no open."""
    return PIXEL_TAG.sub("", html)


def record_open(message_token, hit=None):
    """Count one open of the message with ``message_token`` (buffered, see ``flush``)."""
    buffer.push("open", message_token, hit or Hit())


def record_click(message, link_index, hit=None):
    """Count one click of link ``link_index`` of ``message`` (buffered, see ``flush``)."""
    buffer.push("click", message.token, hit or Hit(), link_index)


def flush():
    """Write the buffered hits to events and counters now; return how many."""
    return buffer.flush()


#: Longest a page showing counts waits for the scheduler's flush to end, in seconds.
FRESH_WAIT_SECONDS = 3.0


def fresh_counts(view):
    """Decorate a view that shows counts: buffered hits are written first (waiting up to
    ``FRESH_WAIT_SECONDS`` for a flush already running to end).

    When Redis cannot be reached the page still shows, with the counts already stored.
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            buffer.flush(wait=FRESH_WAIT_SECONDS)
        except RedisError:
            logging.getLogger(__name__).warning("tracking hits not flushed", exc_info=True)
        return view(*args, **kwargs)

    return wrapper


def link_clicks(message_id):
    """``{link index: (clicks, human clicks)}`` of one message."""
    query = (
        db.select(TrackingEvent.link_index, TrackingEvent.classification, func.count())
        .where(TrackingEvent.message_id == message_id, TrackingEvent.kind == "click")
        .group_by(TrackingEvent.link_index, TrackingEvent.classification)
    )
    counts = {}
    for index, kind_class, count in db.session.execute(query):
        total, human = counts.get(index, (0, 0))
        counts[index] = (total + count, human + (count if kind_class == "human" else 0))
    return counts


def timeline(message_id):
    """The message's events, oldest first."""
    query = (
        db.select(TrackingEvent)
        .where(TrackingEvent.message_id == message_id)
        .order_by(TrackingEvent.at, TrackingEvent.id)
    )
    return db.session.scalars(query).all()

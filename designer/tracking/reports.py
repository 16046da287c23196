"""Campaign reports: outcomes per recipient and the figures a marketer reads.

Raw counts are what CRM users know; "human" counts leave out privacy
proxies, scanners and prefetching. Failed 5xx answers count as hard bounces.
"""

from collections import Counter

from sqlalchemy import case, func

from designer.csvexport import csv_text
from designer.extensions import db
from designer.mail.models import Message
from designer.tracking.models import TrackingEvent


def _sum(column):
    return func.coalesce(func.sum(column), 0)


def _flag(condition):
    return _sum(case((condition, 1), else_=0))


def campaign_figures(campaign_id, unsubscribes=0):
    """Sent, delivered, bounced, opens (unique/total, raw/human), clicks, CTR.

    "Sent" counts every message that went to the server (accepted or refused);
    "bounced" those refused with a 5xx or reported later by a bounce (DSN);
    "delivered" the rest, less any other failure.
    """
    row = db.session.execute(
        db.select(
            _flag(Message.state.in_(("sent", "failed"))),
            _flag(Message.bounce != ""),
            _flag((Message.state == "failed") & (Message.bounce == "")),
            _flag(Message.open_count > 0),
            _sum(Message.open_count),
            _flag(Message.human_open_count > 0),
            _sum(Message.human_open_count),
            _flag(Message.click_count > 0),
            _sum(Message.click_count),
            _flag(Message.human_click_count > 0),
            _sum(Message.human_click_count),
        ).where(Message.campaign_id == campaign_id)
    ).one()
    (
        sent,
        bounced,
        other_failures,
        unique_opens,
        opens,
        unique_human,
        human_opens,
        clickers,
        clicks,
        human_clickers,
        human_clicks,
    ) = (int(value) for value in row)
    delivered = sent - bounced - other_failures
    return {
        "sent": sent,
        "delivered": delivered,
        "bounced": bounced,
        "unique_opens": unique_opens,
        "opens": opens,
        "unique_human_opens": unique_human,
        "human_opens": human_opens,
        "unique_clicks": clickers,
        "clicks": clicks,
        "unique_human_clicks": human_clickers,
        "human_clicks": human_clicks,
        "click_through_rate": round(100 * clickers / delivered, 1) if delivered else 0.0,
        "open_rate": round(100 * unique_opens / delivered, 1) if delivered else 0.0,
        "unsubscribes": unsubscribes,
    }


def clicks_per_link(campaign_id, links):
    """``[(url, clicks, human clicks)]`` in the order of the template's links."""
    query = (
        db.select(TrackingEvent.link_index, TrackingEvent.classification, func.count())
        .join(Message, Message.id == TrackingEvent.message_id)
        .where(Message.campaign_id == campaign_id, TrackingEvent.kind == "click")
        .group_by(TrackingEvent.link_index, TrackingEvent.classification)
    )
    totals, humans = Counter(), Counter()
    for index, kind_class, count in db.session.execute(query):
        totals[index] += count
        if kind_class == "human":
            humans[index] += count
    return [(link["url"], totals[i], humans[i]) for i, link in enumerate(links)]


def activity_by_hour(campaign_id):
    """``[(hour, opens, clicks)]``: events per hour, for the chart."""
    query = (
        db.select(TrackingEvent.at, TrackingEvent.kind)
        .join(Message, Message.id == TrackingEvent.message_id)
        .where(Message.campaign_id == campaign_id)
    )
    buckets = {}
    for at, kind in db.session.execute(query):
        hour = at.replace(minute=0, second=0, microsecond=0)
        opens, clicks = buckets.get(hour, (0, 0))
        buckets[hour] = (opens + (kind == "open"), clicks + (kind == "click"))
    return [(hour, *counts) for hour, counts in sorted(buckets.items())]


CSV_COLUMNS = (
    "message_id",
    "recipient",
    "name",
    "state",
    "sent_at",
    "opens",
    "human_opens",
    "first_opened_at",
    "clicks",
    "human_clicks",
    "last_error",
)


def outcomes_csv(campaign_id):
    """Every recipient's outcome as CSV text (formula-safe: ``designer.csvexport``)."""
    query = db.select(Message).where(Message.campaign_id == campaign_id).order_by(Message.id)
    rows = (
        [
            m.id,
            m.recipient_email,
            m.recipient_name,
            m.state,
            m.sent_at,
            m.open_count,
            m.human_open_count,
            m.first_opened_at,
            m.click_count,
            m.human_click_count,
            m.last_error,
        ]
        for m in db.session.scalars(query)
    )
    return csv_text([CSV_COLUMNS, *rows])

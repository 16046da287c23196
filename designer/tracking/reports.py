"""Campaign reports: outcomes per recipient and the figures a marketer reads.

Raw counts are what CRM users know; "human" counts leave out privacy
proxies, scanners and prefetching. Failed 5xx answers count as hard bounces.
"Replied" counts the recipients who answered (a person, not an auto-reply:
``designer.mail.replies``), once each however often they wrote.
"""

from collections import Counter
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import case, func

from designer.csvexport import csv_text
from designer.extensions import db
from designer.mail.models import Message
from designer.templating.link_names import link_names, shown_url
from designer.templating.models import TemplateVersion
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
            _flag(Message.replied_at.is_not(None)),
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
        replied,
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
        "replied": replied,
        "reply_rate": round(100 * replied / delivered, 1) if delivered else 0.0,
        "unsubscribes": unsubscribes,
    }


def list_figures(campaign_ids):
    """``{campaign id: {"sent", "delivered", "opened", "clicked", "replied"}}`` for a
    campaign list (opened, clicked and replied: unique recipients), in one query."""
    if not campaign_ids:
        return {}
    rows = db.session.execute(
        db.select(
            Message.campaign_id,
            _flag(Message.state.in_(("sent", "failed"))),
            _flag((Message.state == "failed") | (Message.bounce != "")),
            _flag(Message.open_count > 0),
            _flag(Message.click_count > 0),
            _flag(Message.replied_at.is_not(None)),
        )
        .where(Message.campaign_id.in_(campaign_ids))
        .group_by(Message.campaign_id)
    ).all()
    return {
        row[0]: {
            "sent": int(row[1]),
            "delivered": int(row[1]) - int(row[2]),
            "opened": int(row[3]),
            "clicked": int(row[4]),
            "replied": int(row[5]),
        }
        for row in rows
    }


class LinkClicks(NamedTuple):
    """One tracked link of a report: its URL as written, its name in the template (its
    text, image ``alt``, ``data-name`` or ``title``: ``templating.link_names``) and
    its clicks."""

    url: str
    name: str
    clicks: int
    human_clicks: int

    @property
    def shown_url(self):
        """The URL as a marketer reads it (merge fields by their path)."""
        return shown_url(self.url)


def clicks_per_link(campaign_id, version):
    """``[LinkClicks]``: the links of the version the campaign went out with (``version``
    while it has sent nothing), then any link only another of its messages' versions had.

    A click counts against the link of the version its message was written with, so a
    template edited after the campaign keeps its figures on the links that were sent.
    """
    counts = _clicks_by_version(campaign_id)
    first = _first_version(campaign_id) or version
    versions = [first] if first is not None else []
    seen = {v.id for v in versions}
    for version_id in sorted({version_id for version_id, _ in counts}):
        if version_id not in seen:
            versions.append(db.session.get(TemplateVersion, version_id))
            seen.add(version_id)
    rows = {}
    for each in versions:
        for key, index in _link_keys(each):
            total, human = counts.get((each.id, index), (0, 0))
            row = rows.setdefault(key, [0, 0])
            row[0] += total
            row[1] += human
    return [LinkClicks(url, name, total, human) for (url, name, _), (total, human) in rows.items()]


def _clicks_by_version(campaign_id):
    """``{(template version id, link index): (clicks, human clicks)}`` of a campaign."""
    query = (
        db.select(
            Message.template_version_id,
            TrackingEvent.link_index,
            TrackingEvent.classification,
            func.count(),
        )
        .join(Message, Message.id == TrackingEvent.message_id)
        .where(Message.campaign_id == campaign_id, TrackingEvent.kind == "click")
        .group_by(
            Message.template_version_id, TrackingEvent.link_index, TrackingEvent.classification
        )
    )
    counts = {}
    for version_id, index, kind_class, count in db.session.execute(query):
        total, human = counts.get((version_id, index), (0, 0))
        counts[version_id, index] = (total + count, human + (count if kind_class == "human" else 0))
    return counts


def _first_version(campaign_id):
    """The template version of the campaign's first message (None before it has one)."""
    query = (
        db.select(Message.template_version_id)
        .where(Message.campaign_id == campaign_id)
        .order_by(Message.id)
        .limit(1)
    )
    version_id = db.session.scalar(query)
    return db.session.get(TemplateVersion, version_id) if version_id else None


def _link_keys(version):
    """``((url, name, n), index)`` per tracked link of ``version``: ``n`` tells apart the
    same link written twice, so the same links of two versions meet."""
    links = list(version.links or [])
    if not links:
        return []
    names = link_names(version)
    seen = Counter()
    keys = []
    for index, link in enumerate(links):
        pair = (link["url"], names[index])
        keys.append(((*pair, seen[pair]), index))
        seen[pair] += 1
    return keys


def activity_by_hour(campaign_id):
    """``[(hour, opens, clicks)]``: events per hour, for the chart, oldest first (counted
    by the database: a campaign's events are never read one by one)."""
    hour = _hour(TrackingEvent.at)
    query = (
        db.select(hour, _flag(TrackingEvent.kind == "open"), _flag(TrackingEvent.kind == "click"))
        .join(Message, Message.id == TrackingEvent.message_id)
        .where(Message.campaign_id == campaign_id)
        .group_by(hour)
        .order_by(hour)
    )
    return [
        (_as_hour(at), int(opens), int(clicks)) for at, opens, clicks in db.session.execute(query)
    ]


def _hour(column):
    if db.engine.dialect.name == "postgresql":
        return func.date_trunc("hour", column)
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _as_hour(value):
    """The hour as a naive UTC datetime (SQLite answers text)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value.replace(minute=0, second=0, microsecond=0)


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
    "replied_at",
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
            m.replied_at,
            m.last_error,
        ]
        for m in db.session.scalars(query)
    )
    return csv_text([CSV_COLUMNS, *rows])

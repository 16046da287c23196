"""A campaign's report at any size: counted for each view while the campaign is small,
counted by a worker and kept in Redis once it is large.

A report counts every message and tracking event of its campaign; past
``LIVE_LIMIT`` recipients that takes longer than a page may. A large campaign's
page then reads the last report a worker counted (``counted_at`` says when) and
queues a new count when that one is older than ``FRESH_SECONDS``; until the
first count is in, there is none (the page says it is being counted). One count
runs at a time per campaign. When Redis cannot be reached the report is counted
for the view, as for a small campaign.
"""

import json
import logging
from datetime import datetime
from typing import NamedTuple

from redis.exceptions import RedisError

from designer import broker
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.suppression import suppressions_from
from designer.tracking import reports

#: Largest audience whose report is counted for each view.
LIVE_LIMIT = 20_000
#: Age past which a stored report is counted again when viewed, in seconds.
FRESH_SECONDS = 60
#: How long a stored report is kept, in seconds (a report viewed later is counted anew).
KEEP_SECONDS = 7 * 24 * 3600
#: Longest a count may run before another may start, in seconds.
COUNT_SECONDS = 900
KEY = "designer:report:{}"
COUNTING_KEY = "designer:report:{}:counting"


class Report(NamedTuple):
    """Figures, clicks per link (``reports.LinkClicks``) and activity by hour; when a
    worker counted them (None: counted for this view) and whether a new count is on."""

    figures: dict
    links: list
    activity: list
    counted_at: datetime | None = None
    recounting: bool = False


def is_large(campaign):
    """Whether the campaign's report is counted by a worker rather than for each view."""
    return (campaign.audience_size or 0) > LIVE_LIMIT


def report_of(campaign):
    """The campaign's ``Report``; None while a large campaign's first count is running."""
    if not is_large(campaign):
        return count(campaign)
    try:
        stored = _stored(campaign.id)
        stale = stored is None or (utcnow() - stored.counted_at).total_seconds() > FRESH_SECONDS
        queued = _queue_count(campaign.id) if stale else False
    except RedisError:
        logging.getLogger(__name__).warning("stored report not read", exc_info=True)
        return count(campaign)
    if stored is None:
        return None
    return stored._replace(recounting=queued or _counting(campaign.id))


def list_figures(campaigns):
    """``{campaign id: {"sent", "delivered", "opened", "clicked", "replied"}}`` for a
    campaign list: small campaigns counted in one query, large ones from their stored
    reports (one not counted yet is left out, and its count queued)."""
    started = [c for c in campaigns if c.state != "draft"]
    figures = reports.list_figures([c.id for c in started if not is_large(c)])
    for campaign in (c for c in started if is_large(c)):
        stored = report_of(campaign)
        if stored is not None:
            figures[campaign.id] = _list_shape(stored.figures)
    return figures


def _list_shape(figures):
    return {
        "sent": figures["sent"],
        "delivered": figures["delivered"],
        "opened": figures["unique_opens"],
        "clicked": figures["unique_clicks"],
        "replied": figures["replied"],
    }


def count(campaign):
    """Count the campaign's report now (every message and event of the campaign)."""
    version = campaign.template.current
    return Report(
        figures=reports.campaign_figures(campaign.id, suppressions_from(campaign.id)),
        links=reports.clicks_per_link(campaign.id, version),
        activity=reports.activity_by_hour(campaign.id),
    )


def count_and_keep(campaign_id):
    """The job: count a large campaign's report and keep it for its pages."""
    from designer.campaigns.models import Campaign

    redis = broker.get_redis()
    try:
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None:
            return None
        report = count(campaign)
        redis.set(KEY.format(campaign_id), _encode(report, utcnow()), ex=KEEP_SECONDS)
        return report.figures
    finally:
        redis.delete(COUNTING_KEY.format(campaign_id))


def _queue_count(campaign_id):
    """Queue a count unless one is queued or running; whether one was queued now."""
    if not broker.get_redis().set(COUNTING_KEY.format(campaign_id), 1, nx=True, ex=COUNT_SECONDS):
        return False
    broker.enqueue(broker.PERIODIC, broker.COUNT_REPORT, campaign_id)
    return True


def _counting(campaign_id):
    return bool(broker.get_redis().exists(COUNTING_KEY.format(campaign_id)))


def _stored(campaign_id):
    raw = broker.get_redis().get(KEY.format(campaign_id))
    return _decode(raw) if raw else None


def _encode(report, counted_at):
    return json.dumps(
        {
            "figures": report.figures,
            "links": [list(link) for link in report.links],
            "activity": [[at.isoformat(), opens, clicks] for at, opens, clicks in report.activity],
            "counted_at": counted_at.isoformat(),
        }
    )


def _decode(raw):
    body = json.loads(raw)
    return Report(
        figures=body["figures"],
        links=[reports.LinkClicks(*link) for link in body["links"]],
        activity=[(datetime.fromisoformat(at), o, c) for at, o, c in body["activity"]],
        counted_at=datetime.fromisoformat(body["counted_at"]),
    )

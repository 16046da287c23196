"""Campaigns: audiences (segments), the lifecycle, progress, and the gate mail's sending
loop asks about them (``sending_gate``)."""

from sqlalchemy.orm import selectinload

from designer.campaigns.audience import FilterInvalid, audience_count
from designer.campaigns.gate import sending_gate
from designer.campaigns.lifecycle import (
    CampaignError,
    NoRecipients,
    cancel,
    create_campaign,
    create_segment,
    finish_interrupted_queuing,
    pause,
    progress,
    queue_started,
    reach,
    reach_or_refuse,
    resume,
    schedule,
    start,
    start_due_campaigns,
)
from designer.campaigns.models import Campaign, Segment
from designer.extensions import db

__all__ = [
    "Campaign",
    "CampaignError",
    "FilterInvalid",
    "NoRecipients",
    "Segment",
    "audience_count",
    "campaigns_using",
    "cancel",
    "create_campaign",
    "create_segment",
    "finish_interrupted_queuing",
    "get_campaign",
    "list_campaigns",
    "pause",
    "progress",
    "queue_started",
    "reach",
    "reach_or_refuse",
    "resume",
    "schedule",
    "sending_gate",
    "start",
    "start_due_campaigns",
]


def get_campaign(campaign_id):
    """The campaign with this id, or None."""
    return db.session.get(Campaign, campaign_id) if campaign_id else None


def list_campaigns():
    """Every campaign, newest first, with its template and audience loaded alongside (a
    list names them on each row without a query per row)."""
    query = (
        db.select(Campaign)
        .options(selectinload(Campaign.template), selectinload(Campaign.segment))
        .order_by(Campaign.id.desc())
    )
    return db.session.scalars(query).all()


#: A campaign in these states still sends (or will) from its template.
ACTIVE_STATES = ("scheduled", "sending", "paused")


def campaigns_using(template_ids):
    """The scheduled, sending or paused campaigns that send one of these templates."""
    query = (
        db.select(Campaign)
        .where(Campaign.template_id.in_(list(template_ids)), Campaign.state.in_(ACTIVE_STATES))
        .order_by(Campaign.id)
    )
    return db.session.scalars(query).all()

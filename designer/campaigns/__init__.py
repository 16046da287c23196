"""Campaigns: audiences (segments), the lifecycle, progress, and the gate mail's sending
loop asks about them (``sending_gate``)."""

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
    "cancel",
    "create_campaign",
    "create_segment",
    "finish_interrupted_queuing",
    "get_campaign",
    "pause",
    "progress",
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

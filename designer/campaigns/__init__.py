"""Campaigns: audiences (segments), the lifecycle, progress and the suppression list."""

from designer.campaigns.audience import FilterInvalid, audience_count
from designer.campaigns.lifecycle import (
    CampaignError,
    cancel,
    create_campaign,
    create_segment,
    finish_interrupted_queuing,
    pause,
    progress,
    resume,
    schedule,
    start,
    start_due_campaigns,
)
from designer.campaigns.models import Campaign, Segment, Suppression
from designer.campaigns.suppression import is_suppressed, suppress

__all__ = [
    "Campaign",
    "CampaignError",
    "FilterInvalid",
    "Segment",
    "Suppression",
    "audience_count",
    "cancel",
    "create_campaign",
    "create_segment",
    "finish_interrupted_queuing",
    "is_suppressed",
    "pause",
    "progress",
    "resume",
    "schedule",
    "start",
    "start_due_campaigns",
    "suppress",
]

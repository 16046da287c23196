"""The campaigns' side of the sending loop's gate (``designer.mail.gate``).

Mail sends a campaign's messages only while the campaign is sending, without
tracking when the campaign says so, and tells the campaigns which it sent for
after each batch, so that one with nothing left is done. The jobs hand this
gate to mail's loop (``workers.jobs``).
"""

from designer.campaigns.lifecycle import finish_done_campaigns
from designer.campaigns.models import Campaign
from designer.extensions import db


class CampaignsGate:
    """Answers the sending loop from the campaigns' own table."""

    def sending_ids(self):
        return db.select(Campaign.id).where(Campaign.state == "sending")

    def untracked(self, campaign_ids):
        if not campaign_ids:
            return set()
        query = db.select(Campaign.id).where(
            Campaign.id.in_(set(campaign_ids)), Campaign.tracking.is_(False)
        )
        return set(db.session.scalars(query))

    def finish(self, campaign_ids):
        finish_done_campaigns(campaign_ids)


sending_gate = CampaignsGate()

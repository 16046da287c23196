"""Small lookups the sending pipeline makes about campaigns, batched."""

from designer.campaigns.models import Campaign, Suppression
from designer.extensions import db


def campaign_states():
    """``{campaign id: state}`` of every campaign that is sending or paused."""
    query = db.select(Campaign.id, Campaign.state).where(
        Campaign.state.in_(("sending", "paused", "cancelled")))
    return dict(db.session.execute(query).all())


def suppressed_among(emails):
    """The (lower-cased) addresses of ``emails`` on the suppression list."""
    wanted = {email.strip().lower() for email in emails if email}
    if not wanted:
        return set()
    query = db.select(Suppression.email).where(Suppression.email.in_(wanted))
    return set(db.session.scalars(query))

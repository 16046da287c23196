"""The campaign gate: what the sending loop asks about the campaigns its messages belong to.

Mail knows a campaign only as the ``campaign_id`` of a ledger row; campaigns
use mail, never the other way round. So whoever runs the loop hands it an
object with the methods of ``CampaignGate`` — the jobs pass campaigns' own
(``designer.campaigns.gate``) to ``deliver_batch``, ``claim_lease`` and
``dispatch_due``, the way listmonk's manager talks to its store. Without one
(``CLOSED``), messages of a campaign stay queued and mail of no campaign goes
as usual.
"""

from typing import Protocol

from sqlalchemy import Select, or_

from designer.extensions import db
from designer.mail.models import Message


class CampaignGate(Protocol):
    def sending_ids(self) -> Select | None:
        """SQL selecting the ids of the campaigns whose messages may go out now (None:
        none may)."""

    def untracked(self, campaign_ids) -> set:
        """Of ``campaign_ids``, those whose mail goes out without tracked links or pixel."""

    def finish(self, campaign_ids) -> None:
        """After a batch that sent for ``campaign_ids``: those with nothing left are done."""


class ClosedGate:
    """No campaign may send, and campaign mail built anyway is not tracked."""

    def sending_ids(self):
        return None

    def untracked(self, campaign_ids):
        return set(campaign_ids)

    def finish(self, campaign_ids):
        return None


CLOSED = ClosedGate()


def may_go_out(gate):
    """SQL condition on ledger rows: of no campaign, or of one the gate lets send now."""
    sending = gate.sending_ids()
    if sending is None:
        return Message.campaign_id.is_(None)
    return or_(Message.campaign_id.is_(None), Message.campaign_id.in_(sending))


def sending_now(gate):
    """The ids of the campaigns that may send now, looked up once."""
    sending = gate.sending_ids()
    if sending is None:
        return frozenset()
    return frozenset(db.session.scalars(sending))

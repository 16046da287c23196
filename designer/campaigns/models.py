"""Campaigns and saved audiences (segments)."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from designer.clock import utcnow
from designer.extensions import db
from designer.i18n import _l

STATES = ("draft", "scheduled", "sending", "paused", "done", "cancelled")
#: The states as pages name them (the badges, "a paused campaign cannot be started").
STATE_LABELS = {
    "draft": _l("draft"),
    "scheduled": _l("scheduled"),
    "sending": _l("sending"),
    "paused": _l("paused"),
    "done": _l("done"),
    "cancelled": _l("cancelled"),
}


def state_label(state):
    """The state ``state`` as the user's language names it."""
    return str(STATE_LABELS.get(state, state))


#: Whom a campaign's rows are from: its sender, the system, or each record's owner.
SENDER_MODES = ("user", "system", "owner")
#: What a segment's audience is made of.
AUDIENCE_MODULES = ("contact", "organisation")


class Segment(db.Model):
    """A saved audience: filters on contacts and their organisations."""

    __tablename__ = "segments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: [{"field": "organisation.industry", "op": "eq", "value": "Retail"}, …], all must hold.
    filters: Mapped[list] = mapped_column(JSON, default=list)
    #: "contact" (people, the default) or "organisation" (each organisation's own address).
    module: Mapped[str] = mapped_column(String(20), default="contact")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Campaign(db.Model):
    """A template sent to a segment by a sender, now or at a set time."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    tracking: Mapped[bool] = mapped_column(default=True)
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: Set once every ledger row is written; until then the campaign cannot be done.
    queued_at: Mapped[datetime | None]
    #: Records in the audience when it started (None before): what "queuing recipients:
    #: n of N" counts towards.
    audience_size: Mapped[int | None]
    #: Of them, how many the start has gone through so far (written, or left out).
    audience_read: Mapped[int] = mapped_column(default=0)
    #: When the start last wrote a chunk of the ledger: a start silent for longer than
    #: ``lifecycle.QUEUING_STALE_SECONDS`` is taken to have died, and is finished.
    queue_heartbeat_at: Mapped[datetime | None]
    #: Recipients left out when the campaign was queued (suppressed or without address).
    suppressed_count: Mapped[int] = mapped_column(default=0)
    #: The subscription topic it belongs to (None: every recipient not suppressed gets it).
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    #: Of ``suppressed_count``, those left out because they opted out of the topic.
    topic_opt_out_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: Sent to records ticked in a list (``designer.campaigns.list_send``): its left-out
    #: recipients are written to the ledger as ``suppressed``, with the reason.
    one_off: Mapped[bool] = mapped_column(default=False)
    #: "user" (from ``sender``), "system" (the central address) or "owner" (each record's
    #: owner, else ``sender``).
    sender_mode: Mapped[str] = mapped_column(String(10), default="user")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    template = relationship("Template")
    segment: Mapped[Segment] = relationship()
    sender = relationship("User")
    topic = relationship("Topic")

    @property
    def queuing(self):
        """Started, and its recipients still being written and queued."""
        return self.state in ("sending", "paused") and self.queued_at is None

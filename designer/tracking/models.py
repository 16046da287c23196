"""Tracking events: every open and click, kept append-only and classified."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from designer.clock import utcnow
from designer.extensions import db

KINDS = ("open", "click")
#: What a hit most likely was (see ``designer.tracking.classify``).
CLASSES = ("human", "privacy_proxy", "scanner", "prefetch")


class TrackingEvent(db.Model):
    __tablename__ = "tracking_events"
    __table_args__ = (
        Index("ix_tracking_events_message_kind", "message_id", "kind"),
        Index("ix_tracking_events_hit_key", "hit_key", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random key given to the hit when it was buffered: a repeated flush inserts it once.
    hit_key: Mapped[str | None] = mapped_column(String(32))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    kind: Mapped[str] = mapped_column(String(10))
    link_index: Mapped[int | None]
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    #: The client address reduced for privacy: IPv4 /24, IPv6 /48.
    client_network: Mapped[str] = mapped_column(String(64), default="")
    classification: Mapped[str] = mapped_column(String(20), default="human")

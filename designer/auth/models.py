"""API tokens: a user's keys for scripts and CRMs calling the REST API.

Only a SHA-256 digest of each token is stored; the token itself is shown once,
when it is created. ``prefix`` (its first characters) lets people tell their
tokens apart on the settings page without ever seeing one again.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from designer.clock import utcnow
from designer.extensions import db


class ApiToken(db.Model):
    """A bearer token acting as its user, with the user's role."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    #: Hex SHA-256 of the whole token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user = relationship("User")

    @property
    def active(self):
        return self.revoked_at is None

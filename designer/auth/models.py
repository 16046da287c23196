"""Account tables: API tokens (a user's keys for the REST API) and set-password links.

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


class PasswordLink(db.Model):
    """A signed, single-use, expiring link that lets its user choose a password.

    ``purpose`` is ``invite`` (a new user's first password) or ``reset``. The
    link itself is never stored: it is signed from ``id`` and ``nonce``
    (``designer.auth.links``), and merged only into the mail on its way to the user.
    """

    __tablename__ = "password_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    nonce: Mapped[str] = mapped_column(String(32))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user = relationship("User", foreign_keys=[user_id])

"""API tokens: create (shown once), list, revoke, and find the user a bearer token names.

A token looks like ``dsn_`` followed by 43 random URL-safe characters. The
database keeps its SHA-256 digest and its first characters (the prefix people
recognise it by); a revoked token never authenticates again, nor does any
token of a disabled user.
"""

import hashlib
import secrets
from datetime import timedelta

from designer.auth.models import ApiToken
from designer.clock import utcnow
from designer.extensions import db

TOKEN_PREFIX = "dsn_"  # noqa: S105 - a marker, not a secret
#: Characters of a token kept in the clear to recognise it.
VISIBLE = 12
NAME_LENGTH = 100
#: ``last_used_at`` is written at most this often per token (not on every request).
TOUCH_INTERVAL = timedelta(seconds=60)


class TokenInvalid(ValueError):
    """A token cannot be created with that name (the message says why)."""


def digest(token):
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user, name):
    """A new token for ``user``: ``(ApiToken, token)``; the token is not stored."""
    name = (name or "").strip()
    if not name:
        raise TokenInvalid("give the token a name, e.g. the CRM or script that will use it")
    if len(name) > NAME_LENGTH:
        raise TokenInvalid(f"the name is at most {NAME_LENGTH} characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, prefix=token[:VISIBLE], token_hash=digest(token))
    db.session.add(row)
    db.session.commit()
    return row, token


def list_tokens(user):
    """The user's tokens, newest first (revoked ones too, marked so)."""
    query = (
        db.select(ApiToken)
        .where(ApiToken.user_id == user.id)
        # not mutated: ids grow with creation, so either key alone gives the same order
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())  # pragma: no mutate
    )
    return db.session.scalars(query).all()


def revoke_token(user, token_id):
    """Revoke one of ``user``'s tokens; ``LookupError`` when they have no such token."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise LookupError(f"you have no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    return row


def user_for_token(token):
    """The active user an unrevoked token belongs to (noting when it was used), else ``None``."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
        row.last_used_at = now
        db.session.commit()
    return row.user


def bearer_token(request):
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    # not mutated: header names are case-blind ("authorization" is the same header)
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")  # pragma: no mutate
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None

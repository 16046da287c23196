"""Set-password links: signed, single-use, expiring; for invitations and password resets.

A link is ``<PUBLIC_URL>/account/password/<token>``, the token signing the
link's row id and a random nonce with a key derived from ``SECRET_KEY``
(itsdangerous, as Flask signs its sessions). The row says when it expires
and whether it was used. Making a new link for a user ends their earlier
ones, and so does any change of their password; redeeming one is a single
conditional UPDATE, so two clicks at once cannot both set a password.
"""

import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature
from sqlalchemy import update

from designer import signing
from designer.auth.models import PasswordLink
from designer.clock import utcnow
from designer.extensions import db

PURPOSES = ("invite", "reset")
#: How long a link works: a new colleague may read mail only days later; a reset
#: is asked for and used at once.
VALID_FOR = {"invite": timedelta(days=3), "reset": timedelta(hours=2)}
SALT = "designer.password-link"


class LinkInvalid(ValueError):
    """The link is unknown, used, replaced or expired (the message says which)."""


def _serializer():
    return signing.serializer(SALT)


def create_link(user, purpose, created_by=None):
    """A new link row for ``user`` (not committed); their earlier unused links end."""
    end_links(user)
    link = PasswordLink(
        user_id=user.id,
        purpose=purpose,
        nonce=secrets.token_hex(16),
        created_by_id=created_by.id if created_by else None,
        expires_at=utcnow() + VALID_FOR[purpose],
    )
    db.session.add(link)
    db.session.flush()
    return link


def end_links(user):
    """Make every unused link of ``user`` unusable (their password was just set)."""
    db.session.execute(
        update(PasswordLink)
        .where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
        .values(used_at=utcnow()),
        execution_options={"synchronize_session": False},
    )


def token_for(link):
    return _serializer().dumps([link.id, link.nonce])


def url_for_link(link):
    return f"{current_app.config['PUBLIC_URL']}/account/password/{token_for(link)}"


def usable(link):
    return link is not None and link.used_at is None and link.expires_at > utcnow()


def find_link(token):
    """The usable link ``token`` names; ``LinkInvalid`` saying why not."""
    try:
        link_id, nonce = _serializer().loads(token)
    except (BadSignature, TypeError, ValueError):
        raise LinkInvalid("this link is not valid: ask an administrator for a new one") from None
    link = db.session.get(PasswordLink, link_id) if isinstance(link_id, int) else None
    if link is None or not secrets.compare_digest(str(nonce), link.nonce):
        raise LinkInvalid("this link is not valid: ask an administrator for a new one")
    if link.used_at is not None:
        raise LinkInvalid(
            "this link was already used or replaced by a newer one: "
            "log in, or ask an administrator for a new link"
        )
    if link.expires_at <= utcnow():
        raise LinkInvalid("this link has expired: ask an administrator for a new one")
    return link


def use_link(link):
    """Mark ``link`` used, exactly once; ``LinkInvalid`` when it was used meanwhile."""
    now = utcnow()
    result = db.session.execute(
        update(PasswordLink)
        .where(
            PasswordLink.id == link.id,
            PasswordLink.used_at.is_(None),
            PasswordLink.expires_at > now,
        )
        .values(used_at=now),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise LinkInvalid(
            "this link was already used: log in, or ask an administrator for a new link"
        )
    db.session.refresh(link)

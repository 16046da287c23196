"""OAuth2 grants: access tokens for SMTP and IMAP, refreshed with Authlib, and the SASL
strings that carry them (XOAUTH2, OAUTHBEARER: RFC 7628).

A grant (``OAuthGrant``) belongs to a user's mailbox, an outgoing server or
the bounce mailbox. ``Credentials`` is what the SMTP transport and the IMAP
client log in with: ``token()`` gives a valid access token, refreshed through
the provider's token endpoint when it is due to expire within ``EARLY``
seconds; ``token(fresh=True)`` refreshes anyway (the server refused the token
it had). Refreshing locks the grant's row, so two workers never spend the
same (rotating) refresh token. A provider answering ``invalid_grant`` has
revoked the grant: its state becomes "reconnect" and ``ReconnectNeeded``
is raised, which senders treat as a temporary failure (the mail waits).
Grants are written through a session of their own: refreshing in the middle
of a delivery batch commits nothing of the batch.
"""

import logging
from datetime import timedelta

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy import select
from sqlalchemy.orm import Session

from designer.clock import utcnow
from designer.crypto import SecretUnreadable, decrypt, encrypt
from designer.extensions import db
from designer.mail import oauth_providers
from designer.mail.models import Mailbox, OAuthGrant, OutgoingServer
from designer.mail.reasons import cleaned

#: Seconds before its expiry an access token is replaced.
EARLY = 120
#: Seconds to wait for the provider's token endpoint.
TIMEOUT = 20
log = logging.getLogger(__name__)


class TokenError(Exception):
    """No access token now: the provider cannot be reached or refused (try again later)."""


class ReconnectNeeded(TokenError):
    """The provider revoked the grant: someone must sign in again."""


# Grants ------------------------------------------------------------------------------


def grant_for(*, mailbox=None, server=None, bounces=False):
    """The grant of ``mailbox``, ``server`` or the bounce mailbox, or None."""
    if mailbox is not None:
        where = OAuthGrant.mailbox_id == mailbox.id
    elif server is not None:
        where = OAuthGrant.server_id == server.id
    elif bounces:
        where = OAuthGrant.bounces.is_(True)
    else:
        return None
    return db.session.scalar(select(OAuthGrant).where(where))


def save_grant(token, *, provider, account, mailbox=None, server=None, bounces=False):
    """Store the tokens of a sign-in for its owner, replacing the grant it had. Commits."""
    grant = grant_for(mailbox=mailbox, server=server, bounces=bounces) or OAuthGrant(
        mailbox_id=mailbox.id if mailbox is not None else None,
        server_id=server.id if server is not None else None,
        bounces=bounces,
    )
    if not token.get("refresh_token"):
        raise ValueError(
            "The provider gave no refresh token: allow offline access when you sign in."
        )
    grant.provider, grant.account = provider, account
    grant.refresh_token_encrypted = encrypt(token["refresh_token"])
    _store_access(grant, token)
    grant.state, grant.last_error = "ok", ""
    db.session.add(grant)
    db.session.commit()
    return grant


def forget_grant(**owner):
    """Drop the grant of an owner (``mailbox=``, ``server=``, ``bounces=True``). Does not
    commit."""
    grant = grant_for(**owner)
    if grant is not None:
        db.session.delete(grant)
        db.session.flush()  # before its owner: the database would cascade it first


def needing_reconnection():
    """``[{"id", "provider", "account", "owner", "error"}]`` of grants revoked."""
    grants = db.session.scalars(
        select(OAuthGrant).where(OAuthGrant.state == "reconnect").order_by(OAuthGrant.id)
    )
    return [
        {
            "id": grant.id,
            "provider": grant.provider,
            "account": grant.account,
            "owner": owner_of(grant),
            "error": grant.last_error,
        }
        for grant in grants
    ]


def owner_of(grant):
    """Whose grant this is, in words: "mailbox 3", "outgoing server 2", "bounce mailbox"."""
    if grant.mailbox_id:
        return f"mailbox {grant.mailbox_id}"
    if grant.server_id:
        return f"outgoing server {grant.server_id}"
    return "bounce mailbox"


def credentials_of(mailbox):
    """The ``Credentials`` an IMAP mailbox logs in with, or None (a password): a linked
    ``Mailbox``, or anything carrying them as ``oauth`` (the bounce mailbox)."""
    if isinstance(mailbox, Mailbox):
        grant = grant_for(mailbox=mailbox)
        return Credentials(grant.id, grant.account) if grant is not None else None
    return getattr(mailbox, "oauth", None)


def server_credentials(server):
    """The ``Credentials`` of an ``OutgoingServer``, or None."""
    if not isinstance(server, OutgoingServer):
        return None
    grant = grant_for(server=server)
    return Credentials(grant.id, grant.account) if grant is not None else None


def bounce_credentials():
    grant = grant_for(bounces=True)
    return Credentials(grant.id, grant.account) if grant is not None else None


# Tokens ------------------------------------------------------------------------------


class Credentials:
    """The account and the access tokens of one grant, for a login."""

    def __init__(self, grant_id, account):
        self.grant_id, self.account = grant_id, account

    def token(self, fresh=False):
        """A valid access token; refreshed when due (or ``fresh``). Raises ``TokenError``."""
        with Session(db.engine, expire_on_commit=False) as session:
            grant = session.scalar(
                select(OAuthGrant).where(OAuthGrant.id == self.grant_id).with_for_update()
            )
            if grant is None:
                raise TokenError("the OAuth2 sign-in was removed: connect the account again")
            if grant.state == "reconnect":
                raise ReconnectNeeded(_reconnect_message(grant))
            try:
                if not fresh and _still_valid(grant):
                    return decrypt(grant.access_token_encrypted)
                return _refresh(session, grant)
            finally:
                session.commit()

    def __repr__(self):
        return f"Credentials({self.grant_id}, {self.account!r})"


def _still_valid(grant):
    return bool(
        grant.access_token_encrypted
        and grant.expires_at is not None
        and grant.expires_at > utcnow() + timedelta(seconds=EARLY)
    )


def _refresh(session, grant):
    """A new access token from the provider (the grant is updated, not committed)."""
    try:
        provider = oauth_providers.provider(grant.provider)
        refresh_token = decrypt(grant.refresh_token_encrypted)
    except (KeyError, SecretUnreadable) as exc:
        grant.last_error = f"cannot refresh the access token: {exc}"
        raise TokenError(grant.last_error) from exc
    client = OAuth2Session(
        provider["client_id"],
        provider["client_secret"],
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method, not a secret
    )
    try:
        token = client.refresh_token(
            provider["token_url"], refresh_token=refresh_token, timeout=TIMEOUT
        )
    except OAuthError as exc:
        grant.last_error = cleaned(
            f"the provider refused the refresh: {exc.error} {exc.description or ''}"
        )
        if exc.error == "invalid_grant":
            grant.state = "reconnect"
            log.warning("OAuth2 grant %s (%s) revoked: %s", grant.id, grant.account, exc)
            raise ReconnectNeeded(_reconnect_message(grant)) from exc
        raise TokenError(grant.last_error) from exc
    except (requests.RequestException, ValueError) as exc:
        grant.last_error = cleaned(f"cannot reach the provider's token endpoint: {exc}")
        raise TokenError(grant.last_error) from exc
    finally:
        client.close()
    _store_access(grant, token)
    if token.get("refresh_token"):  # rotated
        grant.refresh_token_encrypted = encrypt(token["refresh_token"])
    grant.last_error, grant.refreshed_at = "", utcnow()
    return token["access_token"]


def _store_access(grant, token):
    grant.access_token_encrypted = encrypt(token.get("access_token", ""))
    lifetime = int(token.get("expires_in") or 3600)
    grant.expires_at = utcnow() + timedelta(seconds=lifetime)


def _reconnect_message(grant):
    return (
        f"the sign-in of {grant.account} was revoked or expired: "
        f"connect the account again ({grant.last_error or 'reconnect needed'})"
    )


# SASL ----------------------------------------------------------------------------------


def xoauth2(account, token):
    """The XOAUTH2 initial response (Google's and Microsoft's SASL mechanism)."""
    return f"user={account}\x01auth=Bearer {token}\x01\x01"


def oauthbearer(account, token, host, port):
    """The OAUTHBEARER initial response (RFC 7628 section 3.1)."""
    name = account.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={name},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"


def mechanism(offered):
    """The SASL mechanism to use among ``offered`` (upper-case names): XOAUTH2, the one
    Google and Microsoft take, else OAUTHBEARER, else XOAUTH2 all the same."""
    if "XOAUTH2" not in offered and "OAUTHBEARER" in offered:
        return "OAUTHBEARER"
    return "XOAUTH2"


def error_reply(name):
    """What the client answers to the server's error challenge before the server says no:
    the dummy ``%x01`` of OAUTHBEARER (RFC 7628 3.2.3), an empty line for XOAUTH2."""
    return "\x01" if name == "OAUTHBEARER" else ""


def initial_response(name, credentials, token, host, port):
    if name == "OAUTHBEARER":
        return oauthbearer(credentials.account, token, host, port)
    return xoauth2(credentials.account, token)

"""Outgoing servers: where mail goes out, chosen per sending user.

A user's own server when they have one, else the default server, else the
``SMTP_URL`` setting (the local catcher when nothing is configured).
Passwords are stored encrypted (``designer.crypto``). Each server may have
a messages-per-second limit, kept across all workers through Redis. Servers
stored here are reached only at addresses ``designer.netguard`` allows;
``SMTP_URL`` is the operator's own and trusted as is.
"""

import math
import time
from email.utils import make_msgid

from flask import current_app
from flask_babel import gettext as _

from designer import crypto, netguard
from designer.broker import get_redis
from designer.extensions import db
from designer.mail import oauth, oauth_providers
from designer.mail.models import OutgoingServer
from designer.mail.transport import ServerSettings, SmtpTransport

SECURITY = ("none", "starttls", "tls")


class ServerInvalid(ValueError):
    """A server's settings cannot be saved; the message names the field."""


def list_servers():
    return db.session.scalars(db.select(OutgoingServer).order_by(OutgoingServer.name)).all()


def get_server(server_id):
    return db.session.get(OutgoingServer, server_id)


def save_server(values, server=None):
    """Create or update a server from form values; an empty password keeps the stored one."""
    server = server or OutgoingServer()
    server.name = _required(values, "name", _("enter a name"), 200)
    server.host = _required(values, "host", _("enter the host name"), 255)
    if any(char.isspace() or ord(char) < 32 for char in server.host):
        raise ServerInvalid("host: " + _("a host name has no spaces, e.g. smtp.example.com"))
    server.port = _number(values, "port", 1, 65535, int)
    server.security = values.get("security", "starttls")
    if server.security not in SECURITY:
        raise ServerInvalid(_("security must be none, starttls or tls"))
    server.timeout = _number(values, "timeout", 1, 300, int, default=30)
    server.rate_limit = _number(values, "rate_limit", 0, 100_000, float, default=0)
    server.username = (values.get("username") or "").strip()
    if len(server.username) > 320:
        raise ServerInvalid("username: " + _("at most %(limit)s characters", limit=320))
    if values.get("password"):  # a password typed replaces an OAuth2 sign-in
        server.password_encrypted = crypto.encrypt(values["password"])
        if server.id is not None:
            oauth.forget_grant(server=server)
    server.user_id = int(values["user_id"]) if values.get("user_id") else None
    if values.get("is_default") in ("on", "1", "true", True):
        _clear_default()
        server.is_default = True
    db.session.add(server)
    db.session.commit()
    return server


def _required(values, name, missing, limit):
    """``values[name]`` stripped; ``missing`` is the message (after the field name) when empty."""
    value = (values.get(name) or "").strip()
    if not value:
        raise ServerInvalid(f"{name}: {missing}")
    if len(value) > limit:
        raise ServerInvalid(
            f"{name}: "
            + _(
                "at most %(limit)s characters (this has %(length)s)",
                limit=limit,
                length=f"{len(value):,}",
            )
        )
    return value


def _number(values, name, low, high, kind, default=None):
    raw = values.get(name)
    if raw in (None, "") and default is not None:
        return default
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ServerInvalid(f"{name}: " + _("%(value)s is not a number", value=repr(raw))) from None
    if not low <= value <= high:
        raise ServerInvalid(
            f"{name}: " + _("must be between %(low)s and %(high)s", low=low, high=high)
        )
    return value


def _clear_default():
    for other in db.session.scalars(db.select(OutgoingServer).where(OutgoingServer.is_default)):
        other.is_default = False


def link_oauth_server(provider_key, account, token, server=None):
    """Make ``server`` (None: a new shared server) send through ``account`` of an OAuth2
    provider: the provider's SMTP host, the account as login, the grant's tokens. Commits."""
    provider = oauth_providers.provider(provider_key)
    if server is None:
        server = OutgoingServer(name=f"{provider['label']}: {account}"[:200])
        db.session.add(server)
    server.host = provider["smtp_host"]
    server.port = provider["smtp_port"]
    server.security = provider["smtp_security"]
    server.username = account
    server.password_encrypted = ""
    db.session.flush()
    oauth.save_grant(token, provider=provider_key, account=account, server=server)
    return server


def delete_server(server):
    oauth.forget_grant(server=server)
    db.session.delete(server)
    db.session.commit()


def server_for(user):
    """The user's own server, else the default one, else None (use ``SMTP_URL``)."""
    if user is not None:
        own = db.session.scalar(db.select(OutgoingServer).where(OutgoingServer.user_id == user.id))
        if own is not None:
            return own
    return db.session.scalar(db.select(OutgoingServer).where(OutgoingServer.is_default))


def transport_settings(server):
    """Connection settings of a server row, or of ``SMTP_URL`` when ``server`` is None."""
    if server is None:
        return ServerSettings.from_url(current_app.config["SMTP_URL"])
    return ServerSettings(
        host=server.host,
        port=server.port,
        security=server.security,
        username=server.username,
        password=crypto.decrypt(server.password_encrypted),
        timeout=server.timeout,
        guard=netguard.mail_guard(current_app.config, smtp=True),
        oauth=oauth.server_credentials(server),
    )


def send_test(server, to_address):
    """Send a short test message; return the server's answer or raise with it."""
    from designer.mail.mime import clean_header, date_header

    sender = server.username if "@" in server.username else to_address
    raw = (
        f"From: {clean_header(sender)}\r\nTo: {clean_header(to_address)}\r\n"
        f"Subject: Designer test message\r\nDate: {date_header()}\r\n"
        f"Message-ID: {make_msgid(domain='designer.local')}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"This is a test from Designer through {server.name}.\r\n"
    ).encode()
    with SmtpTransport(transport_settings(server)) as transport:
        return transport.send(sender, to_address, raw)


class RateLimiter:
    """At most ``rate`` messages a second through one server, across every worker."""

    def __init__(self, key, rate):
        self.key, self.rate = key, rate

    def wait(self):
        """Block until one more message may go."""
        if not self.rate:
            return
        window = 1 if self.rate >= 1 else math.ceil(1 / self.rate)
        allowed = self.rate * window
        redis = get_redis()
        while True:
            slot = int(time.time()) // window
            bucket = f"designer:rate:{self.key}:{slot}"
            count = redis.incr(bucket)
            if count == 1:
                redis.expire(bucket, window + 5)
            if count <= allowed:
                return
            time.sleep(max(0.0, (slot + 1) * window - time.time()))

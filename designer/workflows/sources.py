"""Hook sources and signed requests: who may post events, and proof that they did.

A request is signed with HMAC-SHA256 over ``"<timestamp>.<raw body>"`` under
the source's secret and carries ``X-Designer-Timestamp`` (Unix seconds) and
``X-Designer-Signature: sha256=<hex>``. The signature is compared in
constant time; timestamps older or newer than ``TOLERANCE`` are refused, and
a signature already seen within the tolerance is a replay.
"""

import hashlib
import hmac
import re
import secrets
import time

from sqlalchemy.exc import IntegrityError

from designer.broker import get_redis
from designer.crypto import decrypt, encrypt
from designer.extensions import db
from designer.workflows.models import HookSource

#: Seconds a signed request stays valid either side of its timestamp.
TOLERANCE = 300
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
#: Reserved for events raised inside the app.
APP_SOURCE = "app"


class BadSignature(ValueError):
    """The request is not signed by a known source, is stale, or is a replay."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def add_source(name):
    """Create a source; return ``(source, secret)`` (the secret is shown once)."""
    name = (name or "").strip().lower()
    if not SOURCE_NAME.fullmatch(name) or name == APP_SOURCE:
        raise ValueError(
            "a source name is 1 to 64 lower-case letters, digits, '.', '_' or '-'"
            f" (and not {APP_SOURCE!r})"
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    source = HookSource(name=name, secret_encrypted=encrypt(secret))
    db.session.add(source)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValueError(f"a source called {name!r} exists already") from None
    return source, secret


def rotate_secret(source):
    """Give ``source`` a new secret (the old one stops working at once); return it."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    source.secret_encrypted = encrypt(secret)
    db.session.commit()
    return secret


def delete_source(source):
    db.session.delete(source)
    db.session.commit()


def list_sources():
    return db.session.scalars(db.select(HookSource).order_by(HookSource.name)).all()


def get_source(source_id):
    return db.session.get(HookSource, source_id)


def sign(secret, timestamp, body):
    """The ``X-Designer-Signature`` value for ``body`` sent at ``timestamp``."""
    payload = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def verify(headers, body, now=None):
    """The ``HookSource`` that signed this request; ``BadSignature`` otherwise."""
    timestamp = _timestamp(headers.get("X-Designer-Timestamp"), now)
    given = (headers.get("X-Designer-Signature") or "").strip()
    if not SIGNATURE.fullmatch(given):
        raise BadSignature("bad_signature", "X-Designer-Signature must be 'sha256=<hex HMAC>'")
    source = _matching_source(headers.get("X-Designer-Source"), timestamp, body, given)
    _refuse_replay(source, given)
    return source


#: A signature header: the hex HMAC-SHA256 (``str.isdigit`` and non-ASCII never get in).
SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}")
TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _timestamp(value, now):
    value = (value or "").strip()
    if not TIMESTAMP.fullmatch(value):
        raise BadSignature("bad_timestamp", "X-Designer-Timestamp must be the Unix time in seconds")
    timestamp = int(value)
    if abs((now or time.time()) - timestamp) > TOLERANCE:
        raise BadSignature(
            "stale_timestamp",
            f"the timestamp is more than {TOLERANCE} s from now: check the "
            "sender's clock, and sign each delivery when it is sent",
        )
    return timestamp


def _matching_source(name, timestamp, body, given):
    candidates = list_sources()
    if name:
        candidates = [s for s in candidates if s.name == name.strip().lower()]
    found = None
    for source in candidates:  # each compared in full, in constant time
        expected = sign(decrypt(source.secret_encrypted), timestamp, body)
        if hmac.compare_digest(expected.encode(), given.lower().encode()):
            found = source
    if found is None:
        raise BadSignature(
            "bad_signature",
            "the signature does not match the body under any "
            "source's secret (tampered body, or a wrong secret)",
        )
    return found


def _seen_key(source, signature):
    return f"designer:hooks:seen:{source.id}:{signature[7:71]}"


def forget_signature(source, signature):
    """Let this signed request be delivered again (it could not be stored)."""
    get_redis().delete(_seen_key(source, signature))


def _refuse_replay(source, signature):
    if not get_redis().set(_seen_key(source, signature), 1, nx=True, ex=2 * TOLERANCE):
        raise BadSignature(
            "replayed",
            "this exact signed request was received before: "
            "a new delivery must be signed again with a new timestamp",
        )

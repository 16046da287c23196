"""Hook sources and signed requests: who may post events, and proof that they did.

Two schemes are accepted, with the same secrets and the same rules:

- ours: HMAC-SHA256 over ``"<timestamp>.<raw body>"`` keyed with the whole
  secret text, in ``X-Designer-Timestamp`` (Unix seconds) and
  ``X-Designer-Signature: sha256=<hex>``;
- Standard Webhooks (https://www.standardwebhooks.com/): HMAC-SHA256 over
  ``"<webhook-id>.<webhook-timestamp>.<raw body>"`` keyed with the base64-decoded
  part of a ``whsec_<base64>`` secret, in ``webhook-signature: v1,<base64>``
  (several, space-separated; any one that matches passes). The ``webhook-id``
  is then the event's id: a redelivery with the same id runs nothing again.

Each process keeps the sources' secrets (``_signers``) and decrypts each
stored ciphertext once (``_plain``): a burst of events costs no query and no
Fernet decryption per request. Any committed change of a source (added,
rotated, ended, deleted) writes a new version into Redis; a request reads
that version (one round trip, at most once a second) and loads the sources
again when it changed (or after ``SIGNERS_SECONDS`` in any case), so a
rotated or deleted secret counts at once in the process that changed it and
within a second in every other.

Signatures are compared in constant time; timestamps older or newer than
``TOLERANCE`` are refused, and a signature already seen within the tolerance is
a replay. Secrets made since Standard Webhooks are ``whsec_`` + base64 of 32
random bytes and serve both schemes; older ones (``whsec_`` + a URL-safe token,
which is not base64 that every library decodes alike) keep working for ours
only, and a new secret makes a source usable by both. A rotation keeps the
previous secret valid for ``ROTATION_OVERLAP`` or until it is ended.
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from designer import signing
from designer.broker import get_redis
from designer.clock import utcnow
from designer.crypto import decrypt, encrypt
from designer.extensions import db
from designer.workflows.models import HookSource

#: Seconds a signed request stays valid either side of its timestamp.
TOLERANCE = 300
#: How long the previous secret stays valid after a rotation, unless ended sooner.
ROTATION_OVERLAP = timedelta(days=7)
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
#: Reserved for events raised inside the app.
APP_SOURCE = "app"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
#: Random bytes of a new secret (Standard Webhooks asks for 24 to 64).
SECRET_BYTES = 32
#: Signatures looked at in one ``webhook-signature`` header (a rotation needs two).
MAX_SIGNATURES = 10
#: A ``webhook-id``: printable ASCII without spaces, as long as an event id may be.
MESSAGE_ID = re.compile(r"[\x21-\x7e]{1,200}")


class BadSignature(ValueError):
    """The request is not signed by a known source, is stale, or is a replay."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Signer:
    """What a request is checked against: a source's id, name and the secrets valid now."""

    id: int
    name: str
    secrets: tuple


@dataclass(frozen=True)
class Verified:
    """A request proven to come from ``source`` (a ``Signer``); ``event_id`` is its
    ``webhook-id`` (Standard Webhooks) or None (ours: the body names its id)."""

    source: Signer
    scheme: str
    event_id: str | None
    seen_key: str

    def forget(self):
        """Let this signed request be delivered again (it could not be stored)."""
        get_redis().delete(self.seen_key)


def new_secret():
    """A Standard Webhooks secret: ``whsec_`` and the base64 of random bytes (the HMAC key)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def standard_key(secret):
    """The HMAC key ``secret`` stands for under Standard Webhooks, or None for an older
    secret that serves our scheme only."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if 24 <= len(key) <= 64 else None


def add_source(name):
    """Create a source; return ``(source, secret)`` (the secret is shown once)."""
    name = (name or "").strip().lower()
    if not SOURCE_NAME.fullmatch(name) or name == APP_SOURCE:
        raise ValueError(
            "a source name is 1 to 64 lower-case letters, digits, '.', '_' or '-'"
            f" (and not {APP_SOURCE!r})"
        )
    secret = new_secret()
    source = HookSource(name=name, secret_encrypted=encrypt(secret))
    db.session.add(source)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValueError(f"a source called {name!r} exists already") from None
    return source, secret


def rotate_secret(source, now=None):
    """Give ``source`` a new secret and return it; the one it replaces stays valid for
    ``ROTATION_OVERLAP`` (or until ``end_rotation``), so the sender can switch over."""
    secret = new_secret()
    source.previous_secret_encrypted = source.secret_encrypted
    source.previous_secret_until = (now or utcnow()) + ROTATION_OVERLAP
    source.secret_encrypted = encrypt(secret)
    db.session.commit()
    return secret


def end_rotation(source):
    """The previous secret stops working now."""
    source.previous_secret_encrypted, source.previous_secret_until = "", None
    db.session.commit()


def rotating(source, now=None):
    """Whether ``source``'s previous secret is still valid."""
    return bool(
        source.previous_secret_encrypted
        and source.previous_secret_until
        and source.previous_secret_until > (now or utcnow())
    )


def secrets_of(source, now=None):
    """The secrets a request of ``source`` may be signed with now (current first)."""
    found = [decrypt(source.secret_encrypted)]
    if rotating(source, now):
        found.append(decrypt(source.previous_secret_encrypted))
    return found


def serves_standard(source):
    """Whether the current secret of ``source`` works for Standard Webhooks."""
    return standard_key(decrypt(source.secret_encrypted)) is not None


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


def sign_standard(secret, message_id, timestamp, body):
    """The ``webhook-signature`` value (``v1,<base64>``) for ``body`` under ``secret``."""
    return (
        "v1,"
        + base64.b64encode(
            _standard_mac(standard_key(secret), message_id, timestamp, body)
        ).decode()
    )


def _standard_mac(key, message_id, timestamp, body):
    signed = f"{message_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def uses_standard(headers):
    """Whether a request is signed the Standard Webhooks way (and not ours)."""
    if headers.get("X-Designer-Signature") is not None:
        return False
    return any(headers.get(name) is not None for name in STANDARD_HEADERS)


STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def verify(headers, body, now=None):
    """Who signed this request, by either scheme: ``Verified``; ``BadSignature`` otherwise."""
    if uses_standard(headers):
        return _verify_standard(headers, body, now)
    return _verify_ours(headers, body, now)


def _verify_ours(headers, body, now):
    timestamp = _timestamp(headers.get("X-Designer-Timestamp"), now, "X-Designer-Timestamp")
    given = (headers.get("X-Designer-Signature") or "").strip()
    if not SIGNATURE.fullmatch(given):
        raise BadSignature("bad_signature", "X-Designer-Signature must be 'sha256=<hex HMAC>'")
    given = given.lower()
    source = _one_source(
        headers.get("X-Designer-Source"),
        lambda secret: hmac.compare_digest(sign(secret, timestamp, body).encode(), given.encode()),
    )
    return Verified(source, "designer", None, _refuse_replay(source, given[7:71]))


def _verify_standard(headers, body, now):
    message_id = _message_id(headers.get("webhook-id"))
    timestamp = _timestamp(headers.get("webhook-timestamp"), now, "webhook-timestamp")
    given = _signatures(headers.get("webhook-signature"))
    matched = []

    def matches(secret):
        key = standard_key(secret)
        if key is None:
            return False
        expected = _standard_mac(key, message_id, timestamp, body)
        hits = [s for s in given if hmac.compare_digest(expected, s)]  # each compared in full
        matched.extend(hits)
        return bool(hits)

    try:
        source = _one_source(headers.get("X-Designer-Source"), matches)
    except BadSignature:
        if not any(standard_key(s.secrets[0]) for s in _signers(None)):
            raise BadSignature(
                "bad_signature",
                "no source has a Standard Webhooks secret yet (secrets made before "
                "are for X-Designer-Signature only): make a new secret on Hook sources",
            ) from None
        raise
    return Verified(source, "standard", message_id, _refuse_replay(source, matched[0].hex()))


#: A signature header: the hex HMAC-SHA256 (``str.isdigit`` and non-ASCII never get in).
SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}")
TIMESTAMP = re.compile(r"[0-9]{1,12}")
#: One Standard Webhooks signature: a version, a comma, base64.
VERSIONED = re.compile(r"(v1[a-z]?|v[0-9]+[a-z]?),([A-Za-z0-9+/=]{1,200})")


def _message_id(value):
    value = (value or "").strip()
    if not MESSAGE_ID.fullmatch(value):
        raise BadSignature(
            "bad_id",
            "webhook-id must be the message's unique id: 1 to 200 printable ASCII "
            "characters without spaces",
        )
    return value


def _signatures(value):
    """The v1 signatures (bytes) of a ``webhook-signature`` header; malformed ones are
    skipped, as are other versions (v1a: asymmetric, not used here)."""
    found = []
    # not mutated: a text without spaces in place of "" is one malformed signature, skipped
    for item in (value or "").split()[:MAX_SIGNATURES]:  # pragma: no mutate
        parsed = VERSIONED.fullmatch(item)
        if parsed is None or parsed.group(1) != "v1":
            continue
        try:
            found.append(base64.b64decode(parsed.group(2), validate=True))
        except (binascii.Error, ValueError):
            continue
    if not found:
        raise BadSignature(
            "bad_signature",
            "webhook-signature must hold 'v1,<base64 HMAC-SHA256>' (several may be "
            "separated by spaces)",
        )
    return found


def _timestamp(value, now, header):
    value = (value or "").strip()
    if not TIMESTAMP.fullmatch(value):
        raise BadSignature("bad_timestamp", f"{header} must be the Unix time in seconds")
    timestamp = int(value)
    if abs((now or time.time()) - timestamp) > TOLERANCE:
        raise BadSignature(
            "stale_timestamp",
            f"the timestamp is more than {TOLERANCE} s from now: check the "
            "sender's clock, and sign each delivery when it is sent",
        )
    return timestamp


def _one_source(name, matches):
    """The source (``Signer``) one of whose valid secrets ``matches``; every candidate
    is tried."""
    found = None
    for source in _signers(name):
        for secret in source.secrets:
            if matches(secret) and found is None:
                found = source
    if found is None:
        raise BadSignature(
            "bad_signature",
            "the signature does not match the body under any "
            "source's secret (tampered body, or a wrong secret)",
        )
    return found


def _signers(name):
    """The sources (only the one called ``name``, when given) with their valid secrets."""
    name = name.strip().lower() if name else None
    now, found = utcnow(), []
    for row in _source_rows():
        if name and row.name != name:
            continue
        valid = [_plain(row.secret_encrypted)]
        if row.previous_secret_until and row.previous_secret_until > now:
            valid.append(_plain(row.previous_secret_encrypted))
        found.append(Signer(row.id, row.name, tuple(v for v in valid if v)))
    return found


#: The Redis key whose value changes with every committed change of a source.
SOURCES_VERSION_KEY = "designer:hooks:sources:version"
#: Seconds the sources are kept at most, whatever the version says.
SIGNERS_SECONDS = 30
#: Seconds between two looks at the version: a change made in another process counts
#: within this (one made in this process, at once).
VERSION_SECONDS = 1


def _kept():
    """This process's copy of the app's sources: ``{"version", "at", "checked", "rows"}``."""
    return current_app.extensions.setdefault("designer.hook_sources", {})


def _source_rows():
    """The rows of ``hook_sources`` (columns, no ORM objects), kept while the version in
    Redis stays the same (looked at once every ``VERSION_SECONDS``), and for
    ``SIGNERS_SECONDS`` at most."""
    copy = _kept()
    kept, now = copy.get("rows"), time.monotonic()
    if kept is not None and now - copy["at"] >= SIGNERS_SECONDS:
        kept = None
    if kept is not None and now - copy["checked"] < VERSION_SECONDS:
        return kept
    version = get_redis().get(SOURCES_VERSION_KEY)
    if kept is not None and copy["version"] == version:
        copy["checked"] = now
        return kept
    table = HookSource.__table__
    query = db.select(
        table.c.id,
        table.c.name,
        table.c.secret_encrypted,
        table.c.previous_secret_encrypted,
        table.c.previous_secret_until,
    ).order_by(table.c.name)
    with db.engine.connect() as connection:  # given back at once: the request holds none
        rows = connection.execute(query).all()
    copy.update(version=version, at=now, checked=now, rows=rows)
    return rows


@event.listens_for(HookSource, "after_insert")
@event.listens_for(HookSource, "after_update")
@event.listens_for(HookSource, "after_delete")
def _source_changed(mapper, connection, target):
    session = Session.object_session(target)
    if session is not None:
        session.info["hook_sources_changed"] = True


@event.listens_for(Session, "after_commit")
def _new_sources_version(session):
    """A source changed: every process loads the sources again at its next request."""
    if session.info.pop("hook_sources_changed", False):
        _kept().clear()
        get_redis().set(SOURCES_VERSION_KEY, uuid.uuid4().hex)


@event.listens_for(Session, "after_soft_rollback")
def _no_change(session, previous_transaction):
    session.info.pop("hook_sources_changed", None)


#: ``{(key, ciphertext): secret}``: each stored secret decrypted once per process.
_PLAIN = {}
#: Entries kept at most (a few per source; emptied when full).
PLAIN_MAX = 1024


def _plain(ciphertext):
    """``decrypt(ciphertext)``, remembered under the key it was encrypted with."""
    memo_key = (signing.fernet_key(), ciphertext)
    if memo_key not in _PLAIN:
        if len(_PLAIN) >= PLAIN_MAX:
            _PLAIN.clear()
        _PLAIN[memo_key] = decrypt(ciphertext)
    return _PLAIN[memo_key]


def _refuse_replay(source, signature_hex):
    key = f"designer:hooks:seen:{source.id}:{signature_hex}"
    if not get_redis().set(key, 1, nx=True, ex=2 * TOLERANCE):
        raise BadSignature(
            "replayed",
            "this exact signed request was received before: "
            "a new delivery must be signed again with a new timestamp",
        )
    return key

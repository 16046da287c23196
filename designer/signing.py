"""Every key the app derives from ``SECRET_KEY``, one per purpose, in one place.

- tracking MACs (clicks, opens, web views, preference pages, VERP addresses; ``mail.links``,
  ``mail.bounces``): SHA-256 of the secret as a BLAKE2b key, each MAC naming
  its purpose in BLAKE2b's personalisation;
- unsubscribe tokens (``mail.suppression``): SHA-256 of the secret and ``unsubscribe``;
- secrets at rest (``designer.crypto``: passwords, DKIM keys): HKDF-SHA256,
  salt ``designer-secrets``, info ``fernet``;
- set-password links (``auth.links``): itsdangerous with a salt of their own.

The derivations are the ones the app has always used, so links in mail
already sent stay valid. Changing ``SECRET_KEY`` ends them all (and makes
stored secrets unreadable: they must be entered again).
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from itsdangerous import URLSafeSerializer


def _secret(secret=None):
    value = current_app.config["SECRET_KEY"] if secret is None else secret
    return value.encode() if isinstance(value, str) else value


def mac_key(secret=None):
    """The BLAKE2b key of the tracking MACs (clicks, opens, VERP); BLAKE2b keys are at
    most 64 bytes, hence the digest."""
    return hashlib.sha256(_secret(secret)).digest()


def mac(key, data, person, digest_size):
    """Hex BLAKE2b MAC of ``data`` (bytes or text) under ``key`` for purpose ``person``."""
    data = data.encode() if isinstance(data, str) else data
    return hashlib.blake2b(data, key=key, digest_size=digest_size, person=person).hexdigest()


def unsubscribe_key():
    return hashlib.sha256(_secret() + b"unsubscribe").digest()


def fernet_key():
    """The urlsafe base64 Fernet key secrets at rest are encrypted under."""
    return _fernet_key(_secret())


@lru_cache(maxsize=8)  # pragma: no mutate (a bound on keys kept: any size derives the same)
def _fernet_key(secret):
    """Derived once per secret (each signed hook request looks it up)."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"designer-secrets", info=b"fernet"
    ).derive(secret)
    return base64.urlsafe_b64encode(derived)


def serializer(salt):
    """An itsdangerous serializer keyed with the secret, for purpose ``salt``."""
    return URLSafeSerializer(_secret(), salt=salt)

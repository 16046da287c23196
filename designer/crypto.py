"""Secrets at rest: passwords of mail servers and mailboxes, DKIM private keys.

Encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``)
under a key derived from the app's ``SECRET_KEY`` with HKDF. Changing
``SECRET_KEY`` makes stored secrets unreadable: they must be entered again
(``decrypt`` then raises ``SecretUnreadable`` with that advice).
"""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class SecretUnreadable(Exception):
    """The stored secret was encrypted under another SECRET_KEY."""


def _fernet(secret_key):
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"designer-secrets",
                   info=b"fernet").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(plaintext):
    """Ciphertext (text) of ``plaintext``; empty stays empty."""
    if not plaintext:
        return ""
    return _fernet(current_app.config["SECRET_KEY"]).encrypt(plaintext.encode()).decode()


def decrypt(ciphertext):
    """The plaintext of ``encrypt``'s output."""
    if not ciphertext:
        return ""
    try:
        return _fernet(current_app.config["SECRET_KEY"]).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("a stored secret cannot be read (SECRET_KEY changed?): "
                               "enter the password or key again") from exc

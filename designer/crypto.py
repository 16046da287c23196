"""Secrets at rest: passwords of mail servers and mailboxes, DKIM private keys.

Encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``)
under a key derived from the app's ``SECRET_KEY`` with HKDF (see
``designer.signing``). Changing
``SECRET_KEY`` makes stored secrets unreadable: they must be entered again
(``decrypt`` then raises ``SecretUnreadable`` with that advice).
"""

from cryptography.fernet import Fernet, InvalidToken

from designer import signing


class SecretUnreadable(Exception):
    """The stored secret was encrypted under another SECRET_KEY."""


def _fernet():
    return Fernet(signing.fernet_key())


def encrypt(plaintext):
    """Ciphertext (text) of ``plaintext``; empty stays empty."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext):
    """The plaintext of ``encrypt``'s output."""
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "a stored secret cannot be read (SECRET_KEY changed?): enter the password or key again"
        ) from exc

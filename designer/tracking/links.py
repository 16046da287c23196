"""Signed tracking URLs: ``/c/<token>`` for links, ``/o/<token>.gif`` for the pixel.

A click token names a message and a link index, signed.

The token is ``<message token>.<index>.<signature>``; the signature is a
keyed BLAKE2b MAC (a single C call, cheap enough for every link of every
message) of the first two parts with the app's secret, so a changed byte
makes it worthless. The redirect only ever goes to the URL stored for that link
in the message's template version — never to a URL taken from the request.
The pixel token is ``<message token>.<signature>`` with a MAC of its own kind,
so the open endpoint can drop forged hits without touching the database.
"""

import hashlib
import hmac

SIGNATURE_BYTES = 10


def _signature(secret, message_token, index):
    data = f"{message_token}.{index}".encode()
    return hashlib.blake2b(data, key=secret, digest_size=SIGNATURE_BYTES,
                           person=b"designer-click").hexdigest()


def _open_signature(secret, message_token):
    return hashlib.blake2b(message_token.encode(), key=secret, digest_size=SIGNATURE_BYTES,
                           person=b"designer-open").hexdigest()


class LinkSigner:
    """Builds and checks click tokens with one app secret."""

    def __init__(self, secret, public_url):
        secret = secret.encode() if isinstance(secret, str) else secret
        self.secret = hashlib.sha256(secret).digest()  # BLAKE2b keys are at most 64 bytes
        self.base = f"{public_url.rstrip('/')}/c/"
        self.pixel_base = f"{public_url.rstrip('/')}/o/"

    def url(self, message_token, index):
        return f"{self.base}{message_token}.{index}.{_signature(self.secret, message_token, index)}"

    def urls(self, message_token, count):
        return [self.url(message_token, index) for index in range(count)]

    def parse(self, token):
        """Return ``(message_token, index)`` or None when the token is not ours."""
        parts = (token or "").split(".")
        if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 4:
            return None
        expected = _signature(self.secret, parts[0], int(parts[1]))
        if not hmac.compare_digest(expected, parts[2]):
            return None
        return parts[0], int(parts[1])


    def pixel_url(self, message_token):
        signature = _open_signature(self.secret, message_token)
        return f"{self.pixel_base}{message_token}.{signature}.gif"

    def parse_pixel(self, token):
        """Return the message token of a pixel token, or None when it is not ours."""
        message_token, _, signature = (token or "").partition(".")
        if not message_token or len(message_token) > 64:
            return None
        expected = _open_signature(self.secret, message_token)
        return message_token if hmac.compare_digest(expected, signature) else None


def signer_for(app):
    """The signer of ``app`` (cached on it)."""
    signer = app.extensions.get("link_signer")
    if signer is None:
        signer = LinkSigner(app.config["SECRET_KEY"], app.config["PUBLIC_URL"])
        app.extensions["link_signer"] = signer
    return signer

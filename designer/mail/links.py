"""Signed URLs of a message: ``/c/<token>`` for links, ``/o/<token>.gif`` for the pixel,
``/v/<token>`` for the message in a browser (``designer.mail.webview``), ``/p/<token>``
for the recipient's preference page (``designer.mail.preferences``).

Mail signs them into each message it builds; tracking's endpoints check them
(``designer.tracking``). The formats below are those of every mail ever sent:
a changed byte would break the links in mail already delivered.

A click token names a message and a link index, signed:
``<message token>.<index>.<signature>``. A link whose URL holds merge fields
(``https://shop.example.com/?id={{ contact.id }}``) is merged when the message
is built, and the merged URL travels in the token itself, signed with the
rest: ``<message token>.<index>.<URL, base64url>.<signature>``. So a click
never merges a template: it checks a MAC and redirects.

The signature is a keyed BLAKE2b MAC (a single C call, cheap enough for every
link of every message) of everything before it with the app's secret, so a
changed byte makes it worthless. The redirect only ever goes to the URL
stored for that link in the message's template version, or to the merged URL
signed when the message was built — never to a URL a request made up. The
pixel token is ``<message token>.<signature>`` with a MAC of its own kind, so
the open endpoint can drop forged hits without touching the database.
The web view token has the same shape with a MAC of a third kind, so a
pixel token never opens a web view nor the other way round; the preference page's
token has a fourth kind. Tokens of any
other shape or alphabet are simply not ours.
"""

import base64
import binascii
import hmac
import re
from typing import NamedTuple

from designer import signing

SIGNATURE_BYTES = 10
#: Longest link index a token may name (templates have far fewer links).
MAX_INDEX_DIGITS = 4
#: Longest merged URL carried in a token.
MAX_TARGET_LENGTH = 4000
TOKEN_PART = re.compile(r"[A-Za-z0-9_-]{1,64}")
INDEX = re.compile(rf"[0-9]{{1,{MAX_INDEX_DIGITS}}}")
SIGNATURE = re.compile(rf"[0-9a-f]{{{2 * SIGNATURE_BYTES}}}")
ENCODED = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_TARGET_LENGTH * 4 // 3 + 4}}}")


class Click(NamedTuple):
    """What a valid click token names; ``target`` is the merged URL, if it carries one."""

    message_token: str
    index: int
    target: str | None = None


def _signature(key, message_token, index, encoded=None):
    data = f"{message_token}.{index}" + (f".{encoded}" if encoded else "")
    return signing.mac(key, data, b"designer-click", SIGNATURE_BYTES)


def _encode(url):
    return base64.urlsafe_b64encode(url.encode()).rstrip(b"=").decode()


def _decode(encoded):
    try:
        # Not mutated: surplus "=" are ignored, so padding "+len % 4" decodes the same.
        padded = encoded + "=" * (-len(encoded) % 4)  # pragma: no mutate
        return base64.urlsafe_b64decode(padded).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _open_signature(key, message_token):
    return signing.mac(key, message_token, b"designer-open", SIGNATURE_BYTES)


def _webview_signature(key, message_token):
    return signing.mac(key, message_token, b"designer-webview", SIGNATURE_BYTES)


def _preferences_signature(key, message_token):
    return signing.mac(key, message_token, b"designer-prefs", SIGNATURE_BYTES)


def _parse_signed(token, sign):
    """The message token of ``<message token>.<signature>`` signed by ``sign``, else None."""
    message_token, _, signature = (token or "").partition(".")
    if not TOKEN_PART.fullmatch(message_token) or not SIGNATURE.fullmatch(signature):
        return None
    return message_token if hmac.compare_digest(sign(message_token), signature) else None


class LinkSigner:
    """Builds and checks click tokens with one app secret."""

    def __init__(self, secret, public_url):
        self.secret = signing.mac_key(secret)
        self.base = f"{public_url.rstrip('/')}/c/"
        self.pixel_base = f"{public_url.rstrip('/')}/o/"
        self.webview_base = f"{public_url.rstrip('/')}/v/"
        self.preferences_base = f"{public_url.rstrip('/')}/p/"

    def url(self, message_token, index, target=None):
        """The click URL of link ``index``; ``target`` is its merged URL when it has
        merge fields (carried in the token, signed)."""
        encoded = _encode(target) if target else None
        signature = _signature(self.secret, message_token, index, encoded)
        middle = f"{index}.{encoded}" if encoded else f"{index}"
        return f"{self.base}{message_token}.{middle}.{signature}"

    def urls(self, message_token, count, targets=None):
        """Click URLs of ``count`` links; ``targets`` maps indexes to merged URLs."""
        targets = targets or {}
        return [self.url(message_token, index, targets.get(index)) for index in range(count)]

    def parse(self, token):
        """Return the ``Click`` a token names, or None when the token is not ours."""
        parts = (token or "").split(".")
        if len(parts) not in (3, 4) or not _shaped(parts):
            return None
        encoded = parts[2] if len(parts) == 4 else None
        expected = _signature(self.secret, parts[0], int(parts[1]), encoded)
        if not hmac.compare_digest(expected.encode(), parts[-1].encode()):
            return None
        target = _decode(encoded) if encoded else None
        if encoded and target is None:
            return None
        return Click(parts[0], int(parts[1]), target)

    def pixel_url(self, message_token):
        signature = _open_signature(self.secret, message_token)
        return f"{self.pixel_base}{message_token}.{signature}.gif"

    def parse_pixel(self, token):
        """Return the message token of a pixel token, or None when it is not ours."""
        return _parse_signed(
            token, lambda message_token: _open_signature(self.secret, message_token)
        )

    def webview_url(self, message_token):
        """Where the recipient sees the message in a browser."""
        return (
            f"{self.webview_base}{message_token}.{_webview_signature(self.secret, message_token)}"
        )

    def parse_webview(self, token):
        """Return the message token of a web view token, or None when it is not ours."""
        return _parse_signed(
            token, lambda message_token: _webview_signature(self.secret, message_token)
        )

    def preferences_url(self, message_token):
        """Where the recipient chooses the topics they get (or unsubscribes from all)."""
        signature = _preferences_signature(self.secret, message_token)
        return f"{self.preferences_base}{message_token}.{signature}"

    def parse_preferences(self, token):
        """Return the message token of a preference page token, or None when it is not ours."""
        return _parse_signed(
            token, lambda message_token: _preferences_signature(self.secret, message_token)
        )


def _shaped(parts):
    """Every part in its own ASCII alphabet (``str.isdigit`` would take ``²``)."""
    return (
        TOKEN_PART.fullmatch(parts[0]) is not None
        and INDEX.fullmatch(parts[1]) is not None
        and SIGNATURE.fullmatch(parts[-1]) is not None
        and (len(parts) == 3 or ENCODED.fullmatch(parts[2]) is not None)
    )


def signer_for(app):
    """The signer of ``app`` (cached on it)."""
    signer = app.extensions.get("link_signer")
    if signer is None:
        signer = LinkSigner(app.config["SECRET_KEY"], app.config["PUBLIC_URL"])
        app.extensions["link_signer"] = signer
    return signer

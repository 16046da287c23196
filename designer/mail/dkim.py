"""DKIM: one signing key per sending domain, and signing outgoing messages with it.

A receiver checks a DKIM signature against the public key the domain owner
publishes in DNS (``dns_record``), so it knows the message really comes
from that domain and was not changed on the way. Keys are RSA (what every
receiver verifies) or Ed25519 (RFC 8463: small and fast, but not yet verified
by every receiver), created here (``generate_key``) or pasted
(``import_key``); the private key is kept encrypted at rest
(``designer.crypto``) and decrypted and loaded once per process
(``private_key_of`` caches it until the row changes). An Ed25519 key's
``public_key`` is its raw 32 bytes (what DNS publishes), an RSA key's its
SubjectPublicKeyInfo: ``key_type`` tells them apart by that.

Signing (``designer.mail.dkim_sign``, through OpenSSL) is relaxed/relaxed
over the ``SIGNED_HEADERS`` a message actually has: listing an absent one
would break the signature as soon as a relay adds that header
(List-Unsubscribe, say). The signature header is folded with CRLF, like the
rest of the message.
"""

import base64
import re
from dataclasses import dataclass
from email.utils import parseaddr

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from designer.clock import utcnow
from designer.crypto import decrypt, encrypt
from designer.extensions import db
from designer.mail import dkim_sign
from designer.mail.models import DkimKey

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
DEFAULT_SELECTOR = "designer"
MIN_BITS, MAX_BITS = 1024, 4096
SELECTOR = re.compile(r"[a-z0-9-]{1,63}")
LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")

#: The key types a domain's key may have.
KEY_TYPES = ("rsa", "ed25519")
#: key id -> (ciphertext, private key): the loaded key, valid while the row is unchanged.
_key_cache = {}


def normalize_domain(domain):
    """``domain`` lower-cased and in ASCII (IDNA); ValueError when it is not a host name."""
    text = (domain or "").strip().rstrip(".").lower()
    if not text:
        raise ValueError(_("Enter the domain you send from, such as example.com."))
    if "@" in text:
        raise ValueError(
            _(
                "Enter only the domain (%(domain)s), not an e-mail address.",
                domain=text.rpartition("@")[2],
            )
        )
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 2 or not all(map(LABEL.fullmatch, labels)):
        raise ValueError(
            _(
                "“%(domain)s” is not a domain name: use letters, digits and hyphens "
                "separated by dots, like example.com.",
                domain=domain.strip(),
            )
        )
    return ascii_name


def normalize_selector(selector):
    """``selector`` lower-cased; ValueError unless it is 1-63 letters, digits or hyphens."""
    text = (selector or "").strip().lower()
    if not SELECTOR.fullmatch(text):
        raise ValueError(
            _(
                "“%(selector)s” is not a valid selector: use 1 to 63 "
                "letters, digits or hyphens, such as designer.",
                selector=(selector or "").strip(),
            )
        )
    return text


def generate_key(domain, selector=DEFAULT_SELECTOR, bits=2048, replace=False, key_type="rsa"):
    """Create, store and return a new key (RSA of ``bits``, or Ed25519) for ``domain``
    (ValueError when not allowed)."""
    domain, selector = normalize_domain(domain), normalize_selector(selector)
    if key_type not in KEY_TYPES:
        raise ValueError(_("Choose an RSA or an Ed25519 key."))
    if key_type == "rsa" and not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(
            _("Key size must be between %(low)s and %(high)s bits.", low=MIN_BITS, high=MAX_BITS)
        )
    _refuse_duplicate(domain, replace)
    if key_type == "ed25519":
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _store(domain, selector, private_key, replace)


def import_key(domain, selector, private_pem, replace=False):
    """Store an existing PEM private key for ``domain`` (RSA of 1024-4096 bits, or Ed25519)."""
    domain, selector = normalize_domain(domain), normalize_selector(selector)
    private_key = load_private_key(private_pem)
    _refuse_duplicate(domain, replace)
    return _store(domain, selector, private_key, replace)


def load_private_key(private_pem, checked=False):
    """The RSA or Ed25519 private key in ``private_pem``; ValueError saying what is wrong
    otherwise. ``checked`` says the key was validated when it was stored (OpenSSL's RSA
    validation costs about 30 ms a load; a stored key is encrypted, so unchanged)."""
    text = (private_pem or "").strip()
    if "PUBLIC KEY" in text and "PRIVATE KEY" not in text:
        raise ValueError(
            _(
                "This is a public key: paste the private key "
                "(-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)."
            )
        )
    try:
        key = serialization.load_pem_private_key(
            text.encode(), password=None, unsafe_skip_rsa_key_validation=checked
        )
    except TypeError as exc:
        raise ValueError(
            _(
                "This key is protected with a passphrase: remove it first "
                "(openssl pkey -in key.pem -out plain.pem) and paste the result."
            )
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(
            _(
                "This is not a PEM private key: paste the whole key, including "
                "the -----BEGIN … PRIVATE KEY----- and -----END … PRIVATE KEY----- "
                "lines."
            )
        ) from exc
    return _checked(key)


def _checked(key):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(_("Only RSA and Ed25519 keys can sign DKIM: use an RSA key of 2048 bits."))
    if not MIN_BITS <= key.key_size <= MAX_BITS:
        raise ValueError(
            _(
                "This RSA key has %(bits)s bits: DKIM keys here must have "
                "%(low)s to %(high)s bits (2048 is usual).",
                bits=key.key_size,
                low=MIN_BITS,
                high=MAX_BITS,
            )
        )
    return key


def _refuse_duplicate(domain, replace):
    existing = _key_for_domain(domain)
    if existing is not None and not replace:
        raise ValueError(
            _(
                "%(domain)s already has a DKIM key (selector %(selector)s): "
                "delete it first to use another one.",
                domain=domain,
                selector=existing.selector,
            )
        )


def _store(domain, selector, private_key, replace):
    key = (_key_for_domain(domain) if replace else None) or DkimKey(domain=domain)
    key.selector = selector
    is_ed25519 = isinstance(private_key, ed25519.Ed25519PrivateKey)
    key.private_key_encrypted = encrypt(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8
            if is_ed25519
            else serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode("ascii")
    )
    public = private_key.public_key()
    if is_ed25519:  # RFC 8463: the raw 32 bytes
        public_bytes = public.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    else:
        public_bytes = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    key.public_key = base64.b64encode(public_bytes).decode("ascii")
    key.created_at = utcnow()
    db.session.add(key)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ValueError(
            _("%(domain)s already has a DKIM key: delete it first.", domain=domain)
        ) from exc
    return key


def list_keys():
    """Every DKIM key, by domain."""
    return db.session.scalars(db.select(DkimKey).order_by(DkimKey.domain)).all()


def get_key(key_id):
    return db.session.get(DkimKey, key_id)


def delete_key(key):
    """Remove ``key``: mail from its domain goes out unsigned from now on."""
    _key_cache.pop(key.id, None)
    db.session.delete(key)
    db.session.commit()


def key_type(key):
    """``"ed25519"`` or ``"rsa"``: an Ed25519 public key is 32 bytes, an RSA one far more."""
    return "ed25519" if len(base64.b64decode(key.public_key or "")) == 32 else "rsa"


def dns_record(key):
    """``(name, value)`` of the TXT record to publish for ``key``."""
    value = f"v=DKIM1; k={key_type(key)}; p={key.public_key}"
    return (f"{key.selector}._domainkey.{key.domain}", value)


def domain_of(address):
    """The normalised domain of an e-mail address (``Name <a@b>`` too), or None."""
    domain = parseaddr(address or "")[1].rpartition("@")[2]
    try:
        return normalize_domain(domain)
    except ValueError:
        return None


def _key_for_domain(domain):
    return db.session.scalar(db.select(DkimKey).where(DkimKey.domain == domain))


def key_for(address):
    """The DKIM key of the domain of ``address`` (exact domain, any case), or None."""
    domain = domain_of(address)
    return _key_for_domain(domain) if domain else None


def private_key_of(key):
    """The loaded private key of ``key``, decrypted and loaded again only when its stored
    ciphertext changed (``SecretUnreadable``, or ValueError for a damaged key)."""
    cached = _key_cache.get(key.id)
    if cached is not None and cached[0] == key.private_key_encrypted:
        return cached[1]
    private_key = load_private_key(decrypt(key.private_key_encrypted), checked=True)
    _key_cache[key.id] = (key.private_key_encrypted, private_key)
    return private_key


def header_names(raw):
    """Lower-cased names of the header fields of the message ``raw``."""
    end = raw.find(b"\r\n\r\n")
    head = raw[:end] if end >= 0 else raw
    return {
        line.split(b":", 1)[0].strip().lower()
        for line in head.split(b"\r\n")
        if line[:1] not in (b" ", b"\t", b"")
    }


@dataclass(frozen=True)
class Signer:
    """What signing needs of one domain's key, loaded: kept for a batch of messages
    without a query each (a database row would be reloaded after every commit)."""

    domain: str
    selector: str
    private_key: object

    def sign(self, raw):
        """``raw`` with a DKIM-Signature header (CRLF-folded) prepended."""
        present = header_names(raw)
        include = [name for name in SIGNED_HEADERS if name in present]
        if b"from" not in include:
            raise ValueError("cannot DKIM-sign a message without a From header")
        signature = dkim_sign.sign(
            raw,
            domain=self.domain,
            selector=self.selector,
            private_key=self.private_key,
            names=include,
        )
        return signature + raw


def signer(key):
    """The ``Signer`` of ``key`` (``SecretUnreadable``; ValueError for a damaged key)."""
    return Signer(key.domain, key.selector, private_key_of(key))


def sign(raw, key):
    """``raw`` with a DKIM-Signature header (CRLF-folded) for ``key`` prepended."""
    return signer(key).sign(raw)


class DkimUnusable(Exception):
    """The stored key of the From domain cannot sign (damaged or unreadable)."""


def signer_for(address):
    """The ``Signer`` of the domain of ``address``, or None when it has no key
    (``DkimUnusable`` when its key cannot be loaded; ``SecretUnreadable`` goes up)."""
    key = key_for(address)
    if key is None:
        return None
    try:
        return signer(key)
    except ValueError as exc:
        raise DkimUnusable(f"{key.domain}: {exc}") from exc


def sign_if_configured(raw, from_address):
    """``raw`` signed with the key of the From domain, or unchanged when it has none."""
    found = signer_for(from_address)
    return found.sign(raw) if found is not None else raw


def missing_key_warning(from_address, can_add=True):
    """What to tell the user when mail from ``from_address`` would go out unsigned, else None:
    where to add a key when ``can_add`` (an administrator), else whom to ask."""
    domain = domain_of(from_address)
    if domain is None or _key_for_domain(domain) is not None:
        return None
    if can_add:
        return _(
            "No DKIM key for %(domain)s: receivers cannot verify mail from this domain; "
            "add one under Sending → DKIM keys.",
            domain=domain,
        )
    return _(
        "No DKIM key for %(domain)s: receivers cannot verify mail from this domain; "
        "ask an administrator to add one.",
        domain=domain,
    )

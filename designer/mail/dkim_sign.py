"""A DKIM-Signature (RFC 6376) computed through OpenSSL: RSA-SHA256 and Ed25519-SHA256.

The signature is made by the ``cryptography`` package (OpenSSL), which signs
an RSA-2048 message in tens of microseconds where a pure-Python RSA takes
milliseconds. Canonicalisation is relaxed/relaxed, done once per message:

- **body** (RFC 6376 §3.4.4): runs of spaces and tabs become one space,
  whitespace at the end of each line goes, empty lines at the end go, and a
  non-empty body ends with one CRLF; its SHA-256 is ``bh=``;
- **headers** (§3.4.2): each signed field as ``name:value`` with the name
  lower-cased, the value unfolded, its whitespace runs made one space and
  trimmed; for a name listed once, the last field of that name is signed.

The data signed is those fields, then this DKIM-Signature field itself with an
empty ``b=`` and no final CRLF. Ed25519-SHA256 (RFC 8463) signs the SHA-256 of
that data with PureEdDSA; RSA-SHA256 signs the data with PKCS#1 v1.5. The
header is folded between its tags (whitespace a relaxed verifier ignores) and
inside ``b=`` (which verifiers remove before checking).
"""

import base64
import hashlib
import re
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

_WSP = re.compile(rb"[ \t]+")
_TAB_TO_SPACE = bytes.maketrans(b"\t", b" ")
#: Two spaces or more. Written as two literal spaces and then any more, so that `re` finds
#: each run by its literal prefix instead of trying a match at every single space.
_SPACE_RUN = re.compile(rb"   *")
#: Characters of ``b=`` on each folded line.
B_LINE = 72


def canonical_body(body):
    """The relaxed canonical form of a message body (CRLF line ends). A last line without
    CRLF is taken as SMTP delivers it, ended (so its trailing whitespace goes too).

    Each step is one pass at C speed, whatever the length of the runs: a text part
    laid out by inscriptis indents with runs of a hundred spaces or more, and halving
    them pass by pass, or a regular expression matching every single space, made the
    body cost more than the RSA signature.
    """
    if b"\t" in body:
        body = body.translate(_TAB_TO_SPACE)
    if b"  " in body:
        body = _SPACE_RUN.sub(b" ", body)
    if b" \r\n" in body:
        body = body.replace(b" \r\n", b"\r\n")  # at most one space is left before each end
    end = len(body)
    while end >= 2 and body[end - 2 : end] == b"\r\n":  # empty lines at the end
        end -= 2
    body = body[:end].rstrip(b" ")
    return body + b"\r\n" if body else b""


def canonical_header(name, value):
    """One header field in relaxed canonical form, ``name:value`` + CRLF."""
    value = _WSP.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.strip().lower() + b":" + value + b"\r\n"


def split_message(raw):
    """``([(name, value)], body)`` of a CRLF message: each field unfolded later."""
    end = raw.find(b"\r\n\r\n")
    head, body = (raw[:end], raw[end + 4 :]) if end >= 0 else (raw, b"")
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        elif b":" in line:
            name, value = line.split(b":", 1)
            fields.append((name, value))
    return fields, body


def signed_fields(fields, names):
    """The canonical fields ``names`` (lower-case) list: the last field of each name."""
    last = {}
    for name, value in fields:
        last[name.strip().lower()] = value
    return b"".join(canonical_header(name, last[name]) for name in names if name in last)


def sign(raw, *, domain, selector, private_key, names, timestamp=None):
    """The DKIM-Signature field (folded with CRLF, ending in CRLF) for the message ``raw``,
    signing the header ``names`` it has (lower-case bytes) with ``private_key`` (an RSA or
    Ed25519 private key of ``cryptography``) for ``domain`` and ``selector`` (ASCII)."""
    fields, body = split_message(raw)
    algorithm = "ed25519-sha256" if isinstance(private_key, ed25519.Ed25519PrivateKey) else None
    body_hash = base64.b64encode(hashlib.sha256(canonical_body(body)).digest()).decode()
    present = [name for name in names if any(n.strip().lower() == name for n, _ in fields)]
    field = (
        f"DKIM-Signature: v=1; a={algorithm or 'rsa-sha256'}; c=relaxed/relaxed;\r\n"
        f" d={domain}; s={selector}; t={int(timestamp or time.time())};\r\n"
        f" h={':'.join(name.decode() for name in present)};\r\n"
        f" bh={body_hash};\r\n"
        " b="
    ).encode("ascii")
    data = signed_fields(fields, present) + canonical_header(*field.split(b":", 1))[:-2]
    if algorithm:
        signature = private_key.sign(hashlib.sha256(data).digest())
    else:
        signature = private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    b = base64.b64encode(signature).decode()
    folded = "\r\n ".join(b[i : i + B_LINE] for i in range(0, len(b), B_LINE))
    return field + folded.encode("ascii") + b"\r\n"

"""MIME stage: a rendered e-mail becomes the exact bytes put on the wire.

The structure of every message is the same (multipart/alternative with a
text and an HTML part, optionally wrapped in multipart/mixed with PDF
attachments), so it is assembled directly rather than through the ``email``
package, whose per-message object building costs more than the merge itself.
Lines end in CRLF and never exceed 998 octets: compiled templates are folded
once at save time (``templating.compiler.fold_long_lines``), so a part goes
as it is (7bit, or 8bit when the server announced 8BITMIME); a part that
still has a longer line, or non-ASCII text for a server without 8BITMIME,
goes as base64 in 76-character lines. Header
values are cleaned of line breaks and controls (also ones smuggled in as
RFC 2047 encoded-words) before they are encoded, so merge values can never
add a header. Tests parse the result back with the ``email`` package.
"""

import base64
import re
import secrets
import time
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import Header, decode_header, make_header
from email.utils import format_datetime, formataddr, make_msgid
from urllib.parse import quote

CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
PLAIN_HEADER = re.compile(r"[\x20-\x7e]{0,900}")
CRLF = b"\r\n"


def clean_header(value):
    """One line of header text: line breaks and controls, real or smuggled, become spaces.

    Python's email package decodes RFC 2047 encoded-words when it parses a
    header, so ``=?UTF-8?Q?=0A?=`` could turn into a real line break for a
    later reader: encoded-words are decoded and cleaned here first, and
    anything still looking like one is broken up.
    """
    text = str(value or "")
    for _ in range(3):
        text = CONTROL.sub(" ", text).strip()
        if "=?" not in text:
            return text
        decoded = _decode_words(text)
        if decoded == text:
            break
        text = decoded
    return CONTROL.sub(" ", text).replace("=?", "= ?").strip()


def _decode_words(text):
    try:
        return str(make_header(decode_header(text)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return text


def new_message_id(address):
    """A fresh Message-ID on the sender's domain."""
    domain = clean_header(address.rpartition("@")[2]) or "designer.local"
    return make_msgid(domain=re.sub(r"[^A-Za-z0-9.-]", "", domain) or "designer.local")


def encode_text(value):
    """A header value as is when plain ASCII, else as UTF-8 encoded-words (folded)."""
    value = clean_header(value)
    if PLAIN_HEADER.fullmatch(value) and "=?" not in value:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def mailbox(name, address):
    """A header-safe ``Name <address>`` value (display name encoded when needed)."""
    return formataddr((clean_header(name), clean_header(address)), charset="utf-8")


#: Longest line a body part may carry without base64 (RFC 5322 allows 998).
MAX_LINE = 990


def b64_body(text):
    """UTF-8, base64, in CRLF lines of 76 characters."""
    return base64.encodebytes(text.encode("utf-8")).replace(b"\n", CRLF)


def short_lines(text, limit=MAX_LINE):
    """True when no line of ``text`` is longer than ``limit`` (jumping line to line)."""
    pos, end = 0, len(text)
    while end - pos > limit:
        found = text.rfind("\n", pos, pos + limit + 1)
        if found < 0:
            return False
        pos = found + 1
    return True


def encode_body(text, eight_bit=False):
    """``(transfer encoding, bytes)`` for one CRLF text part: as is when its lines allow it."""
    if short_lines(text):
        if text.isascii():
            return b"7bit", text.encode("ascii")
        if eight_bit:
            return b"8bit", text.encode("utf-8")
    return b"base64", b64_body(text.replace("\r\n", "\n"))


_date_cache = [0, ""]


def date_header():
    """RFC 5322 date of now with a numeric zone (``+0000``: the ``GMT`` name is obsolete
    syntax, RFC 5322 4.3), computed at most once a second."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[:] = [now, format_datetime(datetime.fromtimestamp(now, UTC))]
    return _date_cache[1]


def _part(content_type, text, eight_bit):
    encoding, body = encode_body(text, eight_bit)
    return (
        b"Content-Type: "
        + content_type
        + b"\r\nContent-Transfer-Encoding: "
        + encoding
        + b"\r\n\r\n"
        + body
    )


def _multipart(kind, parts):
    boundary = b"=_" + secrets.token_hex(12).encode()
    chunks = [b"Content-Type: multipart/" + kind + b'; boundary="' + boundary + b'"\r\n\r\n']
    for part in parts:
        chunks += [b"--", boundary, CRLF, part, CRLF]
    chunks += [b"--", boundary, b"--", CRLF]
    return b"".join(chunks)


def attachment_part(filename, content_type, data):
    """A base64 attachment part, its file name encoded per RFC 2231 when needed."""
    name = clean_header(filename).replace('"', "")
    disposition = (
        f'attachment; filename="{name}"'
        if PLAIN_HEADER.fullmatch(name)
        else f"attachment; filename*=utf-8''{_rfc2231(name)}"
    )
    return (
        f"Content-Type: {content_type}\r\nContent-Disposition: {disposition}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(data).replace(b"\n", CRLF)


def with_bcc(raw, bcc):
    """The sent bytes with a ``Bcc`` header added, for the sender's own copy only (as a
    mail program keeps it in Sent); ``raw`` itself, with no Bcc, is what went out."""
    if not bcc:
        return raw
    line = f"Bcc: {', '.join(mailbox('', a) for a in bcc)}\r\n".encode()
    return line + raw


def _rfc2231(name):
    return quote(name, safe="")


def build_mime(
    rendered,
    *,
    sender,
    to_name,
    to_address,
    message_id,
    extra_headers=None,
    attachments=(),
    eight_bit=False,
    more_to=(),
    cc=(),
):
    """Return the message as bytes ready for SMTP and IMAP APPEND.

    ``rendered`` comes from the merge stage with CRLF line breaks (and the
    open pixel already in its HTML). ``eight_bit``: the server takes
    8BITMIME, so UTF-8 text may go unencoded. ``more_to`` and ``cc`` are more
    addresses for the To and Cc headers; Bcc addresses have no header at all
    (they are in the SMTP envelope only).
    """
    to = ", ".join([mailbox(to_name, to_address), *(mailbox("", a) for a in more_to)])
    headers = [
        f"From: {mailbox(sender.name, sender.address)}",
        f"To: {to}",
    ]
    if cc:
        headers.append(f"Cc: {', '.join(mailbox('', a) for a in cc)}")
    if sender.reply_to:
        headers.append(f"Reply-To: {mailbox(sender.name, sender.reply_to)}")
    headers += [
        f"Subject: {encode_text(rendered.subject)}",
        f"Date: {date_header()}",
        f"Message-ID: {clean_header(message_id)}",
        "MIME-Version: 1.0",
    ]
    for name, value in (extra_headers or {}).items():
        headers.append(f"{name}: {encode_text(value)}")
    body = _multipart(
        b"alternative",
        [
            _part(b'text/plain; charset="utf-8"', rendered.text, eight_bit),
            _part(b'text/html; charset="utf-8"', rendered.html, eight_bit),
        ],
    )
    if attachments:
        body = _multipart(b"mixed", [body, *(attachment_part(*a) for a in attachments)])
    return "\r\n".join(headers).encode("utf-8") + CRLF + body

"""MIME stage: a rendered e-mail becomes the exact bytes put on the wire.

Serialised with CRLF line endings (``email.policy.SMTP``) and
quoted-printable bodies, so no line exceeds 998 octets however long the
compiled HTML lines are. Header values are cleaned of line breaks before
they reach the header, so merge values can never add a header.
"""

import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from markupsafe import escape

CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
BODY_START = re.compile(r"<body[^>]*>", re.IGNORECASE)


def clean_header(value):
    """One line of header text: line breaks and controls, real or smuggled, become spaces.

    Python's email package decodes RFC 2047 encoded-words when a header is
    set, so ``=?UTF-8?Q?=0A?=`` would turn into a real line break on the
    wire: encoded-words are decoded and cleaned here first, and anything still
    looking like one is broken up.
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
    domain = address.rpartition("@")[2] or "designer.local"
    return make_msgid(domain=clean_header(domain))


def mailbox(name, address):
    """A header-safe ``Name <address>`` value."""
    address = clean_header(address)
    username, _, domain = address.rpartition("@")
    return Address(display_name=clean_header(name), username=username, domain=domain)


def with_pixel(html, pixel_url):
    """Put the 1x1 open pixel at the end of the body."""
    if not pixel_url:
        return html
    tag = f'<img src="{pixel_url}" width="1" height="1" alt="" style="display:block;border:0">'
    ends = list(BODY_END.finditer(html))
    if not ends:
        return html + tag
    at = ends[-1].start()
    return html[:at] + tag + html[at:]


def with_preheader(html, preheader):
    """Insert the hidden preview text right after ``<body>``."""
    if not preheader:
        return html
    block = (
        '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
        f"{escape(preheader)}</div>"
    )
    found = BODY_START.search(html)
    return html[: found.end()] + block + html[found.end() :] if found else block + html


def build_mime(rendered, *, sender, to_name, to_address, message_id, pixel_url=None,
               extra_headers=None):
    """Return the message as bytes ready for SMTP and IMAP APPEND."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = mailbox(sender.name, sender.address)
    msg["To"] = mailbox(to_name, to_address)
    if sender.reply_to:
        msg["Reply-To"] = mailbox(sender.name, sender.reply_to)
    msg["Subject"] = clean_header(rendered.subject)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id
    for name, value in (extra_headers or {}).items():
        msg[name] = clean_header(value)
    msg.set_content(rendered.text, cte="quoted-printable")
    html = with_pixel(with_preheader(rendered.html, rendered.preheader), pixel_url)
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    return msg.as_bytes()

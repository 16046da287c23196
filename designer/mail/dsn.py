"""Bounces: what a delivery status notification from the bounce mailbox says.

This module owns reading bounce messages into data: the failed recipients
with their action, status, diagnostic and hard/soft class, the Message-ID of
the returned original, the addresses the bounce was sent to (where a VERP
``bounces+<token>@domain`` address shows up) and the reporting MTA. It reads
bytes only; fetching the mailbox and matching a bounce to a sent message are
the caller's.

The main path is the standard report: ``multipart/report;
report-type=delivery-status`` (RFC 3462 / RFC 6522) with a
``message/delivery-status`` part (RFC 3464) and the returned message or its
headers (``message/rfc822``, ``text/rfc822-headers``). Postfix, Exim, Gmail,
Microsoft 365 / Exchange, Sendmail and most others send this. Bounces without
a report are read only where that is reliable: qmail's "failure notice", and
plain notices that name the failed addresses in an ``X-Failed-Recipients``
header (older Exim and Gmail). Everything else gives None: auto-replies,
read receipts (``report-type=disposition-notification``), feedback reports,
success notices (``Action: delivered``) and ordinary mail. Malformed input
never raises.
"""

import base64
import binascii
import email
import email.policy
import logging
import quopri
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import collapse_rfc2231_value, getaddresses

log = logging.getLogger(__name__)

#: How a recipient of a delivery report is classified (``Failure.hard``):
#:
#: * Action ``failed`` with a 5.x.x status: **hard**, the address is dead (5.1.1 user
#:   unknown, 5.1.2 no such domain, 5.1.10 Microsoft RecipientNotFound, 5.2.1 mailbox
#:   disabled, 5.4.4 no route, 5.0.0 undefined, ...), except the statuses below.
#: * Action ``failed`` with a status in SOFT_PERMANENT: soft. The code is permanent but
#:   says nothing against the address: it exists, or this message or the moment was
#:   the problem (full mailbox, too big, expired in the queue, spam or policy block).
#: * Action ``failed`` without any status: hard (the reporter gave up for good).
#: * Action ``failed`` with a 4.x.x status: soft (retried until the queue lifetime ran
#:   out; Postfix keeps the last temporary status).
#: * Action ``delayed``: soft, whatever the status.
#: * Actions ``delivered``, ``relayed``, ``expanded``: no failure, left out.
#:
#: An undefined status (``5.0.0``, what Postfix makes of a bare ``550``) is first
#: replaced by a more specific code of the same class from the diagnostic. 5.2.0 is
#: soft because RFC 3463 defines it as "the mailbox exists, but something about the
#: destination mailbox has caused the sending of this DSN". Keys are whole codes or
#: ``5.<subject>.`` prefixes.
SOFT_PERMANENT = {
    "5.2.0": "other mailbox status: RFC 3463 says the mailbox exists",
    "5.2.2": "mailbox full (over quota), reported as permanent by Gmail and others",
    "5.2.3": "the message is larger than the mailbox takes",
    "5.3.1": "the receiving mail system is full",
    "5.3.4": "the message is too big for the receiving system",
    "5.4.7": "delivery time expired: the receiver was unreachable for days",
    "5.6.": "media (content) errors: the message was refused, not the address",
    "5.7.": "security or policy (spam filter, blocklist, DMARC): the address usually exists",
}

STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status", "text/delivery-status")
RETURNED_MESSAGE_TYPES = ("message/rfc822", "message/global", "message/global-headers")
RETURNED_HEADER_TYPES = ("text/rfc822-headers", "text/rfc822-header")
TO_HEADERS = ("to", "delivered-to", "x-original-to", "envelope-to")
FAILURE_ACTIONS = ("failed", "delayed")
#: Fields that, when they repeat inside one block, start the next recipient.
RECIPIENT_FIELDS = ("original-recipient", "final-recipient", "action", "status")

MAX_DEPTH = 12
MAX_TEXT = 256 * 1024
MAX_DIAGNOSTIC = 500
MAX_ADDRESS = 320
MAX_HEADER_FOR_ADDRESSES = 4096

STATUS_CODE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
REPLY_CODE = re.compile(r"\s*([245])\d\d[\s-]")
DIAGNOSTIC_TYPE = re.compile(r"[A-Za-z][\w.-]{0,30}\s*;\s*")
ADDR_SPEC = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+")
MESSAGE_ID = re.compile(r"<([^<>\s]{1,500})>")
INLINE_MESSAGE_ID = re.compile(
    r"^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^<>\s]{1,500}>)", re.IGNORECASE | re.MULTILINE
)
QMAIL_INTRO = re.compile(r"qmail-send program|wasn't able to deliver your message", re.IGNORECASE)
QMAIL_RECIPIENT = re.compile(r"^<([^<>\s@]{1,200}@[^<>\s]{1,200})>:[ \t]*$", re.MULTILINE)
RETURNED_COPY = re.compile(
    r"^(?:--- Below this line is a copy of the message|--- Enclosed are the original headers"
    r"|-+ ?This is a copy of the message|-+ ?Original message -+)",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class Failure:
    """One recipient a bounce reports as not (yet) delivered."""

    address: str  #: lowercase addr-spec from Final-Recipient (else Original-Recipient)
    action: str  #: "failed" or "delayed"
    status: str  #: RFC 3463 code such as "5.1.1"; "" when the bounce gives none
    diagnostic: str  #: the receiver's words (Diagnostic-Code), unfolded, at most 500 chars
    hard: bool  #: the address is dead; see SOFT_PERMANENT for the table


@dataclass(frozen=True)
class Bounce:
    """What one bounce message says."""

    recipients: tuple[Failure, ...]
    original_message_id: str  #: Message-ID of the returned message, no brackets; "" if unknown
    to_addresses: tuple[str, ...]  #: lowercase To, Delivered-To, X-Original-To, Envelope-To
    reporting_mta: str  #: host name from Reporting-MTA ("" if none)


def parse_bounce(raw: bytes) -> Bounce | None:
    """Read a whole message as fetched from the bounce mailbox; None if it is not a bounce.

    A bounce has at least one failed or delayed recipient with an address.
    Never raises: input that cannot be read at all gives None.
    """
    if not isinstance(raw, bytes | bytearray | memoryview) or not raw:
        return None
    try:
        return _parse(bytes(raw))
    except Exception:
        log.warning("a message in the bounce mailbox could not be read", exc_info=True)
        return None


def _parse(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = list(_parts(msg))
    status_parts = [part for part in parts if part.get_content_type() in STATUS_TYPES]
    if status_parts:
        failures, reporting_mta, hints = _read_report(status_parts)
    elif _other_report(parts):
        return None
    else:
        failures, reporting_mta, hints = _read_plain(msg, parts)
    if not failures:
        return None
    return Bounce(
        recipients=failures,
        original_message_id=_original_message_id(msg, parts, hints),
        to_addresses=_to_addresses(msg),
        reporting_mta=reporting_mta,
    )


def _read_report(status_parts):
    """(failures, reporting MTA, Message-ID hints) of the delivery-status parts."""
    blocks = [block for part in status_parts for block in _status_blocks(part)]
    hints = [value for block in blocks for name, value in block if name == "x-original-message-id"]
    return _report_failures(blocks), _reporting_mta(blocks), hints


def _read_plain(msg, parts):
    """(failures, reporting MTA, Message-ID hints) of a bounce without a report."""
    text = _notice_text(parts)
    return _plain_failures(msg, text), "", INLINE_MESSAGE_ID.findall(text)


# Reading the MIME structure


def _parts(part, depth=0):
    """The part and every part inside it, without going into attached messages."""
    yield part
    if depth >= MAX_DEPTH or part.get_content_maintype() != "multipart":
        return
    payload = part.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            yield from _parts(sub, depth + 1)


def _other_report(parts):
    """True if the message is a report of another kind (read receipt, feedback report)."""
    return any(
        _report_type(part) not in ("", "delivery-status")
        for part in parts
        if part.get_content_type() == "multipart/report"
    )


def _report_type(part):
    return collapse_rfc2231_value(part.get_param("report-type", "")).strip().lower()


def _clean(value):
    """A header value on one line: unfolded, whitespace collapsed, raw 8-bit read as UTF-8."""
    text = str(value)
    if not text.isascii():
        try:
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return " ".join(text.split())


def _headers(msg, name):
    """Every value of header ``name``, as sent (no parsing that could fail), cleaned."""
    return [_clean(value) for key, value in msg.raw_items() if key.lower() == name]


def _header(msg, name):
    values = _headers(msg, name)
    return values[0] if values else ""


def _part_text(part):
    """The decoded text of a leaf part (at most MAX_TEXT bytes of it), lines ending in LF."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    data = data[:MAX_TEXT].replace(b"\r\n", b"\n")
    try:
        return data.decode(part.get_content_charset() or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


# The delivery-status part


def _status_blocks(part):
    """The field blocks of a delivery-status part: lists of (lowercase name, value).

    The stdlib parser gives ``message/delivery-status`` as a list of header-only
    messages, one per blank-line separated block. Other shapes are read as text:
    a ``message/global-delivery-status`` part comes as one message whose body
    holds the later blocks, a base64 or quoted-printable part has its encoded
    text parsed as if it were fields, and a ``text/delivery-status`` is a string.
    """
    payload = part.get_payload()
    encoding = _header(part, "content-transfer-encoding").lower()
    if not isinstance(payload, list) or encoding in ("base64", "quoted-printable"):
        return _text_blocks(_encoded_status_text(part, payload, encoding))
    blocks = []
    for sub in payload:
        blocks.append([(key.strip().lower(), _clean(value)) for key, value in sub.raw_items()])
        blocks += _text_blocks(_body_text(sub))
    return [block for block in blocks if block]


def _body_text(sub):
    """The body of a header block, which holds the later blocks in a global DSN (UTF-8)."""
    data = sub.get_payload(decode=True)
    return data[:MAX_TEXT].decode("utf-8", "replace") if isinstance(data, bytes) else ""


def _encoded_status_text(part, payload, encoding):
    """The text of a status part the stdlib did not split into blocks, decoded."""
    if not isinstance(payload, list):
        return _part_text(part)
    source = "\n\n".join(_block_source(sub) for sub in payload)
    data = source.encode("utf-8", "surrogateescape")
    try:
        if encoding == "base64":
            data = base64.b64decode(re.sub(rb"[^A-Za-z0-9+/]", b"", data) + b"==")
        elif encoding == "quoted-printable":
            data = quopri.decodestring(data)
    except (binascii.Error, ValueError):
        return ""
    return data[:MAX_TEXT].decode("utf-8", "replace")


def _block_source(sub):
    return "".join(f"{key}: {value}\n" for key, value in sub.raw_items()) + _body_text(sub)


def _text_blocks(text):
    """Field blocks of delivery-status text: blank lines part them, indented lines continue."""
    blocks, block = [], []
    for line in text[:MAX_TEXT].splitlines():
        if not line.strip():
            if block:
                blocks.append(block)
            block = []
        elif line[0] in " \t" and block:
            block[-1][1].append(line)
        elif ":" in line:
            name, _, value = line.partition(":")
            block.append((name.strip().lower(), [value]))
    if block:
        blocks.append(block)
    return [[(name, _clean(" ".join(pieces))) for name, pieces in fields] for fields in blocks]


def _recipient_groups(blocks):
    """One dict per recipient; a recipient field repeating in a block starts the next one."""
    groups = []
    for block in blocks:
        group = {}
        for name, value in block:
            if name in group and name in RECIPIENT_FIELDS:
                groups.append(group)
                group = {}
            group.setdefault(name, value)
        groups.append(group)
    return [
        group for group in groups if "final-recipient" in group or "original-recipient" in group
    ]


def _report_failures(blocks):
    failures = (_failure(group) for group in _recipient_groups(blocks))
    return _unique(failure for failure in failures if failure is not None)


def _unique(failures):
    """The failures, the first one of each address only."""
    seen, kept = set(), []
    for failure in failures:
        if failure.address not in seen:
            seen.add(failure.address)
            kept.append(failure)
    return tuple(kept)


def _failure(fields):
    """The Failure of one per-recipient block; None if it is no failure or names no address."""
    address = _recipient_address(fields.get("final-recipient", "")) or _recipient_address(
        fields.get("original-recipient", "")
    )
    diagnostic = _diagnostic(fields.get("diagnostic-code", ""))
    status = _status(fields.get("status", ""), diagnostic)
    action = _action(fields.get("action", ""), status)
    if not address or action not in FAILURE_ACTIONS:
        return None
    return Failure(
        address=address,
        action=action,
        status=status,
        diagnostic=diagnostic,
        hard=is_hard(action, status),
    )


def _recipient_address(value):
    """The addr-spec of a recipient field (``rfc822; Jan@Example.org``), lowercase; "" if none."""
    kind, sep, rest = value.partition(";")
    if not sep:
        rest = kind
    elif kind.strip().lower() not in ("rfc822", "utf-8"):
        return ""
    return _addr_spec(rest)


def _addr_spec(text):
    address = text.strip().strip("<>").strip().lower()
    if len(address) > MAX_ADDRESS or not ADDR_SPEC.fullmatch(address):
        return ""
    return address


def _action(value, status):
    """The action word in lowercase, else the one the status class implies."""
    words = value.lower().split()
    if words:
        return words[0].strip(";,.()")
    return {"5": "failed", "4": "delayed", "2": "delivered"}.get(status[:1], "")


def _status(value, diagnostic):
    """The RFC 3463 code of the Status field, made specific from the diagnostic if undefined."""
    found = STATUS_CODE.search(value)
    detail = STATUS_CODE.search(diagnostic)
    if found is None:
        if detail is not None:
            return detail.group(0)
        reply = REPLY_CODE.match(diagnostic + " ")
        return f"{reply.group(1)}.0.0" if reply else ""
    status = found.group(0)
    if (
        detail is not None
        and status.endswith(".0.0")
        and detail.group(1) == found.group(1)
        and not detail.group(0).endswith(".0.0")
    ):
        return detail.group(0)
    return status


def _diagnostic(value):
    """The Diagnostic-Code text without its type (``smtp;``), at most MAX_DIAGNOSTIC chars."""
    type_prefix = DIAGNOSTIC_TYPE.match(value)
    text = value[type_prefix.end() :] if type_prefix else value
    return text[:MAX_DIAGNOSTIC].strip()


def is_hard(action, status):
    """True if the failure means the address is dead (the table above SOFT_PERMANENT)."""
    if action != "failed":
        return False
    if not status:
        return True
    if not status.startswith("5."):
        return False
    subject = status.rsplit(".", 1)[0] + "."
    return status not in SOFT_PERMANENT and subject not in SOFT_PERMANENT


def _reporting_mta(blocks):
    for block in blocks:
        for name, value in block:
            if name == "reporting-mta":
                return value.partition(";")[2].strip()[:255] if ";" in value else value[:255]
    return ""


# Bounces without a report


def _notice_text(parts):
    """The first plain-text part of the message (the human-readable notice)."""
    for part in parts:
        if part.get_content_type() == "text/plain":
            return _part_text(part)
    return ""


def _plain_failures(msg, text):
    """Failures of a bounce without a report: qmail, or an X-Failed-Recipients header."""
    notice = RETURNED_COPY.split(text, maxsplit=1)[0]
    addresses = [
        _addr_spec(address)
        for value in _headers(msg, "x-failed-recipients")
        for address in value.split(",")
    ]
    if not any(addresses) and QMAIL_INTRO.search(notice):
        addresses = [_addr_spec(address) for address in QMAIL_RECIPIENT.findall(notice)]
    addresses = [address for address in addresses if address]
    return _unique(_plain_failure(address, notice, addresses) for address in addresses)


def _plain_failure(address, notice, addresses):
    """A permanent failure of ``address``, described by the paragraph after it in the notice."""
    paragraph = _paragraph_after(notice, notice.lower().find(address), addresses)
    diagnostic = paragraph[:MAX_DIAGNOSTIC]
    status = _status("", diagnostic)
    return Failure(
        address=address,
        action="failed",
        status=status,
        diagnostic=diagnostic,
        hard=is_hard("failed", status),
    )


def _paragraph_after(text, index, addresses):
    """The first paragraph after the line at ``index``, on one line.

    It ends at a blank line or at the line that names the next failed address.
    """
    if index < 0:
        return ""
    paragraph = []
    for line in text[index:].splitlines()[1:]:
        if not line.strip() or line.strip().lower().lstrip("<").startswith(tuple(addresses)):
            if paragraph:
                break
            continue
        paragraph.append(line)
    return _clean(" ".join(paragraph))


# The original message and the envelope


def _original_message_id(msg, parts, hints):
    """The returned message's Message-ID; else a hint (X-Original-Message-ID, an inline
    copy), else the bounce's In-Reply-To (Gmail and Exchange set it to the original)."""
    for part in parts:
        found = _returned_message_id(part)
        if found:
            return found
    for value in [*hints, _header(msg, "in-reply-to")]:
        found = _message_id(value)
        if found:
            return found
    return ""


def _returned_message_id(part):
    content_type = part.get_content_type()
    if content_type in RETURNED_MESSAGE_TYPES:
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            return _message_id(_header(payload[0], "message-id"))
    elif content_type in RETURNED_HEADER_TYPES:
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            headers = BytesHeaderParser(policy=email.policy.default).parsebytes(
                data[:MAX_TEXT].lstrip(b"\r\n")
            )
            return _message_id(_header(headers, "message-id"))
    return ""


def _message_id(value):
    """The id inside the first ``<...>`` of a Message-ID value; "" if there is none."""
    found = MESSAGE_ID.search(value)
    return found.group(1) if found else ""


def _to_addresses(msg):
    """The lowercase addresses of the bounce's To, Delivered-To, X-Original-To, Envelope-To."""
    values = [
        value[:MAX_HEADER_FOR_ADDRESSES]
        for key, value in msg.raw_items()
        if key.lower() in TO_HEADERS
    ]
    addresses = []
    for _, address in getaddresses([_clean(value) for value in values]):
        address = _addr_spec(address)
        if address and address not in addresses:
            addresses.append(address)
    return tuple(addresses)

"""Unsubscribe requests by mail: the ``mailto:`` of ``List-Unsubscribe`` (RFC 2369).

Campaign mail offers ``mailto:unsubscribe@<sending domain>?subject=unsubscribe%20<token>``
beside the https link; the token is the signed unsubscribe token of the
message (``designer.mail.suppression``), the same the https link carries.
Mail to that address is read from the bounce mailbox (the address is
delivered there, e.g. by an alias): the bounce reader hands every mail it
reads here first, and what is an unsubscribe request suppresses the
recipient of the message its token names, with the reason ``unsubscribed``
and the message's campaign.

What counts:

* a mail whose subject starts ``unsubscribe <token>`` (a reply's ``Re:`` and
  the like are allowed before it), or which was sent to ``unsubscribe@…`` or
  ``unsubscribe+<token>@…``; anything else is not a request and goes on to
  the bounce parser;
* a valid signed token suppresses the address the message went to. When the
  mail's From is another address (an alias of the recipient, a forwarded
  mail), the recipient is suppressed all the same — the token is the proof,
  as it is for the https link, and suppressing the From address, which was
  never mailed, would do nothing — and the reader's log says so;
* a bare message token (mail sent before the tokens in the address were
  signed) counts only when the From is the recipient's own address;
* a forged, malformed or unknown token, an auto-reply (``Auto-Submitted``)
  and a request without a token change nothing and are logged as warnings.
"""

import email
import email.policy
import logging
import re
from dataclasses import dataclass
from email.utils import getaddresses

from designer.extensions import db
from designer.mail import suppression
from designer.mail.models import Message

log = logging.getLogger(__name__)

#: ``unsubscribe <token> …`` as the subject, after any number of ``Re:``/``AW:``/``Fwd:``.
SUBJECT = re.compile(r"^(?:\s*[A-Za-z]{2,4}\s*:)*\s*unsubscribe\b\s*(\S*)", re.IGNORECASE)
#: ``unsubscribe@domain`` or ``unsubscribe+<token>@domain`` as a recipient.
ADDRESS = re.compile(r"^unsubscribe(?:\+([^@]{1,200}))?@", re.IGNORECASE)
#: Longest subject looked at (a request's subject is short).
MAX_SUBJECT = 300
BARE_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class Outcome:
    """What one unsubscribe request did: ``suppressed`` (the address) or ``refused`` (why)."""

    suppressed: str = ""
    refused: str = ""


def request_token(msg):
    """The token of an unsubscribe request (``""`` when it names none), or None when the
    mail is no unsubscribe request at all."""
    addresses = getaddresses(
        [str(value) for name in ("To", "Cc", "Delivered-To") for value in msg.get_all(name, [])]
    )
    addressed = False
    for _, address in addresses:
        found = ADDRESS.match(address or "")
        if found and found.group(1):
            return found.group(1)
        addressed = addressed or found is not None
    subject = str(msg.get("Subject", ""))[:MAX_SUBJECT]
    found = SUBJECT.match(subject.replace("\r", " ").replace("\n", " "))
    if found:
        return found.group(1)
    return "" if addressed else None


def read_request(raw):
    """Suppress what an unsubscribe request in ``raw`` asks; None when it is no request."""
    try:
        msg = email.message_from_bytes(bytes(raw or b""), policy=email.policy.default)
        token = request_token(msg)
        sender = _from_address(msg)
    except Exception:  # headers the email package cannot read: left to the bounce parser
        return None
    if token is None:
        return None
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return _refused(f"an automatic reply ({auto}) from {sender or 'nobody'}")
    return _unsubscribe(token, sender)


def _from_address(msg):
    pairs = getaddresses([str(value) for value in msg.get_all("From", [])])
    return next((address.strip().lower() for _, address in pairs if "@" in address), "")


def _unsubscribe(token, sender):
    message_token = suppression.parse_unsubscribe_token(token)
    signed = message_token is not None
    if not signed and BARE_TOKEN.fullmatch(token):
        message_token = token
    if message_token is None:
        return _refused(f"the token {token[:80]!r} from {sender or 'nobody'} is not ours")
    message = db.session.scalar(db.select(Message).where(Message.token == message_token))
    if message is None:
        return _refused(f"the token {token[:80]!r} from {sender or 'nobody'} names no message")
    recipient = message.recipient_email.strip().lower()
    if sender != recipient:
        if not signed:
            return _refused(
                f"an unsigned token for {recipient} came from {sender or 'nobody'}, "
                "not from that address"
            )
        log.warning(
            "unsubscribe mail from %s for message %s: unsubscribing its recipient %s",
            sender or "nobody",
            message.id,
            recipient,
        )
    suppression.suppress(recipient, "unsubscribed", campaign_id=message.campaign_id)
    log.info("unsubscribe mail: %s unsubscribed (message %s)", recipient, message.id)
    return Outcome(suppressed=recipient)


def _refused(reason):
    log.warning("unsubscribe mail ignored: %s", reason)
    return Outcome(refused=reason)

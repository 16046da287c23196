"""Bounces: the bounce mailbox, VERP envelope senders, and what a bounce does to an address.

With a bounce mailbox set up (Settings → Bounces), each message goes out with
a VERP envelope sender — ``bounces+<message id>-<signature>@example.com``
for the envelope sender ``bounces@example.com`` — so a bounce names its
message even when the reporting server quotes nothing of it. A scheduled job
reads the mailbox's unseen mail over IMAP, parses delivery status
notifications (``designer.mail.dsn``), finds the message by its VERP address
or else by the Message-ID quoted in the report, and records each failure:

* a hard bounce (the address does not exist) suppresses the address at once;
* a soft bounce (mailbox full, greylisted, policy block) is counted, and the
  address is suppressed once it has soft-bounced ``soft_threshold`` times.

A 5xx answer at send time is a bounce too, classified the same way by its
enhanced status code (``550 5.1.1`` hard, ``552 5.2.2`` soft; a bare 5xx is
hard). Each mail read is flagged ``\\Seen`` so it is read once.

The same mailbox takes unsubscribe requests by mail (the ``mailto:`` of
``List-Unsubscribe``): each mail is first asked whether it is one
(``designer.mail.unsubscribe_mail``), and only otherwise parsed as a bounce.
"""

import hmac
import logging
import re
from types import SimpleNamespace

from flask_babel import gettext as _

from designer import settings, signing, webhooks
from designer.clock import utcnow
from designer.crypto import encrypt
from designer.extensions import db
from designer.mail import dsn, imap, oauth, suppression, unsubscribe_mail
from designer.mail.models import Bounce, Message

SETTINGS_KEY = "bounces"
DEFAULT_SOFT_THRESHOLD = 3
VERP = re.compile(r"^[^@+]+\+(\d{1,12})-([0-9a-f]{16})@", re.IGNORECASE)
ENHANCED_STATUS = re.compile(r"\b([45])\.(\d{1,3})\.(\d{1,3})\b")
#: At most this many unseen mails are read per run (the rest wait for the next).
BATCH = 200
log = logging.getLogger(__name__)


# Settings --------------------------------------------------------------------------


def bounce_settings():
    """The stored bounce mailbox and thresholds (``{}`` fields empty when not set up)."""
    stored = settings.get_setting(SETTINGS_KEY, {}) or {}
    return {
        "host": "",
        "port": None,
        "security": "tls",
        "username": "",
        "password_encrypted": "",
        "folder": "INBOX",
        "soft_threshold": DEFAULT_SOFT_THRESHOLD,
        **stored,
    }


def configured():
    return bool(bounce_settings()["host"])


def save_bounce_settings(
    *,
    host,
    port,
    security,
    username,
    password,
    folder="INBOX",
    soft_threshold=DEFAULT_SOFT_THRESHOLD,
):
    """Validate and store the bounce mailbox; an empty password keeps the stored one.

    Raises ``ValueError`` with a sentence for the user when a field is not right.
    """
    fields = imap.validate_mailbox_fields(host, port, security, username, folder or "INBOX")
    stored = bounce_settings()
    signed_in = oauth.grant_for(bounces=True) is not None
    if not password and not stored["password_encrypted"] and not signed_in:
        raise ValueError(_("Enter the password of the bounce mailbox: it is needed to log in."))
    threshold = _threshold(soft_threshold)
    if password:  # a password typed replaces an OAuth2 sign-in
        oauth.forget_grant(bounces=True)
    settings.set_setting(
        SETTINGS_KEY,
        {
            "host": fields["host"],
            "port": fields["port"],
            "security": fields["security"],
            "username": fields["username"],
            "folder": fields["sent_folder"] or "INBOX",
            "password_encrypted": encrypt(password) if password else stored["password_encrypted"],
            "soft_threshold": threshold,
        },
    )


def link_oauth_bounces(provider_key, account, token):
    """Read the bounce mailbox as ``account`` of an OAuth2 provider (its IMAP server, the
    grant's tokens; the thresholds and folder stay). Commits."""
    from designer.mail import oauth_providers

    provider = oauth_providers.provider(provider_key)
    stored = bounce_settings()
    fields = imap.validate_mailbox_fields(
        provider["imap_host"], provider["imap_port"], provider["imap_security"], account
    )
    settings.set_setting(
        SETTINGS_KEY,
        {
            **stored,
            "host": fields["host"],
            "port": fields["port"],
            "security": fields["security"],
            "username": fields["username"],
            "password_encrypted": "",
        },
    )
    oauth.save_grant(token, provider=provider_key, account=account, bounces=True)


def remove_bounce_settings():
    oauth.forget_grant(bounces=True)
    settings.set_setting(SETTINGS_KEY, {})


def _threshold(value):
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= 100:
        raise ValueError(
            _("The soft bounce limit must be a number from 1 to 100, not “%(value)s”.", value=value)
        )
    return number


# VERP ------------------------------------------------------------------------------


def _signature(message_id):
    return signing.mac(signing.mac_key(), str(message_id), b"designer-verp", 8)


def verp_address(envelope_from, message_id):
    """``local+<id>-<signature>@domain`` for ``local@domain`` (lowercase: safe in any MTA)."""
    local, _at, domain = envelope_from.rpartition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{message_id}-{_signature(message_id)}@{domain}"


def message_id_from_verp(address):
    """The message id a VERP address names, or None when it is not one of ours."""
    found = VERP.match(address or "")
    if not found or not hmac.compare_digest(_signature(found.group(1)), found.group(2).lower()):
        return None
    return int(found.group(1))


# Recording -------------------------------------------------------------------------


def classify_reply(reply):
    """Whether an SMTP 5xx answer is a hard bounce, by its enhanced status code."""
    found = ENHANCED_STATUS.search(reply or "")
    return dsn.is_hard("failed", ".".join(found.groups()) if found else "")


def record_bounce(message, address, *, hard, status="", diagnostic="", source="dsn"):
    """Store one bounce, mark its message, suppress the address when it should be."""
    address = (address or (message.recipient_email if message else "")).strip().lower()
    if not address:
        return None
    bounce = Bounce(
        message_id=message.id if message else None,
        email=address,
        kind="hard" if hard else "soft",
        status=status[:20],
        diagnostic=(diagnostic or "")[:500],
        source=source,
        received_at=utcnow(),
    )
    db.session.add(bounce)
    if message is not None and message.bounce != "hard":
        message.bounce = bounce.kind
    if webhooks.subscribers("message.bounced"):
        webhooks.emit("message.bounced", _bounce_data(bounce, message))
    db.session.commit()
    if hard:
        suppression.suppress(address, "bounced", campaign_id=_campaign_of(message))
    elif _soft_count(address) >= bounce_settings()["soft_threshold"]:
        suppression.suppress(address, "soft-bounced", campaign_id=_campaign_of(message))
    return bounce


def _bounce_data(bounce, message):
    """What ``message.bounced`` tells about a bounce."""
    return {
        "message_id": message.id if message else None,
        "to": bounce.email,
        "kind": bounce.kind,
        "status": bounce.status,
        "diagnostic": bounce.diagnostic,
        "source": bounce.source,
        "campaign_id": message.campaign_id if message else None,
        "received_at": bounce.received_at.isoformat(),
    }


def record_send_failure(message, reply, hard=None):
    """A 5xx answer at send time: a bounce of its own, classified by the reply
    (``hard``: that classification, when the caller has it already)."""
    status = ENHANCED_STATUS.search(reply or "")
    hard = classify_reply(reply) if hard is None else hard
    return record_bounce(
        message,
        message.recipient_email,
        hard=hard,
        status=".".join(status.groups()) if status else "",
        diagnostic=reply,
        source="smtp",
    )


def _campaign_of(message):
    return message.campaign_id if message is not None else None


def _soft_count(address):
    return db.session.scalar(
        db.select(db.func.count(Bounce.id)).where(Bounce.email == address, Bounce.kind == "soft")
    )


def process_report(raw):
    """Parse one mail from the bounce mailbox and record what it reports; return how many."""
    report = dsn.parse_bounce(raw)
    if report is None:
        return 0
    message = _match(report)
    for failure in report.recipients:
        record_bounce(
            message if _same_address(message, failure) else None,
            failure.address,
            hard=failure.hard,
            status=failure.status,
            diagnostic=failure.diagnostic,
        )
    return len(report.recipients)


def _match(report):
    for address in report.to_addresses:
        message_id = message_id_from_verp(address)
        if message_id is not None:
            message = db.session.get(Message, message_id)
            if message is not None:
                return message
    if report.original_message_id:
        return db.session.scalar(
            db.select(Message).where(Message.message_id == f"<{report.original_message_id}>")
        )
    return None


def _same_address(message, failure):
    return message is not None and message.recipient_email.lower() == failure.address


# The mailbox -----------------------------------------------------------------------


def _mailbox():
    stored = bounce_settings()
    return SimpleNamespace(
        host=stored["host"],
        port=stored["port"],
        security=stored["security"],
        username=stored["username"],
        password_encrypted=stored["password_encrypted"],
        folder=stored["folder"],
        oauth=oauth.bounce_credentials(),
    )


def poll(limit=BATCH):
    """Read the unseen mail of the bounce mailbox;
    ``{"read": n, "bounces": n, "unsubscribes": n}``.

    Raises ``imap.MailboxError`` (a sentence) when the mailbox cannot be read.
    """
    if not configured():
        return {"read": 0, "bounces": 0, "unsubscribes": 0}
    mailbox = _mailbox()
    conn = imap.connect(mailbox)
    try:
        return _read_unseen(conn, mailbox.folder, limit)
    finally:
        imap.close(conn)


def _read_unseen(conn, folder, limit):
    typ, data = conn.select(imap.mailbox_arg(folder))
    if typ != "OK":
        raise imap.MailboxError(f"the bounce mailbox has no folder “{folder}”")
    typ, data = conn.uid("SEARCH", None, "UNSEEN")
    uids = (data[0] or b"").split()[:limit] if typ == "OK" else []
    found = {"read": 0, "bounces": 0, "unsubscribes": 0}
    for uid in uids:
        kind, count = _read_one(conn, uid)
        found[kind] += count
        found["read"] += 1
    return found


def _read_one(conn, uid):
    """``("bounces" | "unsubscribes", how many)`` of one mail, flagged seen after."""
    typ, data = conn.uid("FETCH", uid, "(BODY.PEEK[])")
    raw = next((item[1] for item in data if isinstance(item, tuple)), b"") if typ == "OK" else b""
    try:
        found = process_mail(raw)
    except Exception:  # one unreadable mail must not stop the others
        db.session.rollback()
        log.exception("bounce mail %s could not be processed", uid)
        found = ("bounces", 0)
    conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)")
    return found


def process_mail(raw):
    """An unsubscribe request or a bounce report: ``(kind, how many it recorded)``."""
    request = unsubscribe_mail.read_request(raw)
    if request is not None:
        return "unsubscribes", 1 if request.suppressed else 0
    return "bounces", process_report(raw)

"""Replies: mail in the users' own INBOX that answers one of our messages.

A periodic job reads each linked mailbox (My mailbox, ``designer.mail.mailbox``)
through ``imap.connect``, so whatever way a mailbox logs in, it is read the same;
where the server offers IMAP IDLE, new mail is read as it arrives as well
(``designer.mail.idle`` queues ``read_one``).
The INBOX is opened read-only (EXAMINE) and fetched with ``BODY.PEEK``: the
user's read state stays as it was, and nothing is deleted or moved. Reading
goes on from the last UID seen under the folder's UIDVALIDITY; a new
UIDVALIDITY (the folder was rebuilt) starts over from ``FIRST_READ_DAYS`` ago,
and the unique key (mailbox, UIDVALIDITY, UID) keeps anything read twice
from being stored twice; a reply found in two users' mailboxes (a copy to
both) is stored once, by its Message-ID.

A mail is matched by its ``In-Reply-To`` and ``References`` (the Message-IDs
our messages went out with), else by a VERP address of ours it was sent to
(``bounces.message_id_from_verp``). Only the headers of new mail are fetched
first; the body of a match is fetched up to ``MAX_FETCH`` bytes. Delivery
reports (``multipart/report``, DSNs) are left to the bounce code. Automatic
answers (RFC 3834 ``Auto-Submitted``, ``X-Autoreply``, ``Precedence``,
out-of-office subjects) are kept as auto-replies, which count as no reply.

The bounce mailbox is not read here: people answer the From or Reply-To
address (the user's own mailbox); the bounce mailbox gets delivery reports
and is owned by the bounce job, which flags what it reads ``\\Seen``.
"""

import email
import email.policy
import logging
import re
from dataclasses import asdict, dataclass
from datetime import UTC, timedelta
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime

from sqlalchemy.exc import IntegrityError

from designer.clock import utcnow
from designer.extensions import db
from designer.mail import bounces, dsn, imap
from designer.mail.models import Mailbox, Message, Reply

#: At most this many new mails are looked at per mailbox and run (the rest wait).
BATCH = 200
#: Bytes of a matched reply fetched (``BODY.PEEK[]<0.n>``): enough for its text.
MAX_FETCH = 262_144
#: A mailbox read for the first time is read from this many days back.
FIRST_READ_DAYS = 30
#: Characters of the reply's text kept as its excerpt.
EXCERPT_CHARS = 1000
#: MIME parts deeper than this are not looked into.
MAX_DEPTH = 8
#: Message-IDs of one mail looked up at most (a References header can be long).
MAX_REFERENCES = 50
HEADER_FIELDS = (
    "BODY.PEEK[HEADER.FIELDS (IN-REPLY-TO REFERENCES TO CC DELIVERED-TO X-ORIGINAL-TO)]<0.16384>"
)
MESSAGE_ID = re.compile(r"<[^<>\s]{1,298}>")
AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic|matische|matique)?[ -]?(reply|response|antwort|answer|réponse|svar)"
    r"|out of (the )?office|abwesen|absence|afwezig|fuera de la oficina|risposta automatica"
    r"|réponse automatique|automatisch antwoord|autosvar|away from)",
    re.IGNORECASE,
)
AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk"}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
QUOTE_START = re.compile(
    r"^(on .{1,200} wrote:|-{2,} ?original message ?-{2,}|am .{1,200} schrieb .{0,200}:"
    r"|op .{1,200} schreef .{0,200}:|le .{1,200} a écrit ?:|from: .+)$",
    re.IGNORECASE,
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadReply:
    """What is kept of one reply, read from its bytes."""

    header_message_id: str
    sender_name: str
    sender_email: str
    subject: str
    excerpt: str
    auto: bool
    received_at: object


# Reading the mailboxes --------------------------------------------------------------


def read_all(limit=BATCH):
    """Read every linked mailbox; ``{"mailboxes", "replies", "errors", "new": [reply ids]}``.

    A mailbox that cannot be read keeps its error (shown on My mailbox) and the
    others are read all the same.
    """
    found = {"mailboxes": 0, "replies": 0, "errors": 0, "new": []}
    for mailbox_id in db.session.scalars(db.select(Mailbox.id).order_by(Mailbox.id)).all():
        _read_into(found, mailbox_id, limit)
    return found


def read_one(mailbox_id, limit=BATCH):
    """Read one linked mailbox (new mail announced by IDLE, ``designer.mail.idle``); the
    same answer as ``read_all``, nothing read when it was unlinked meanwhile."""
    found = {"mailboxes": 0, "replies": 0, "errors": 0, "new": []}
    if db.session.get(Mailbox, mailbox_id) is not None:
        _read_into(found, mailbox_id, limit)
    return found


def _read_into(found, mailbox_id, limit):
    mailbox = db.session.get(Mailbox, mailbox_id)
    try:
        new = read_mailbox(mailbox, limit)
    except imap.MailboxError as exc:
        db.session.rollback()
        mailbox = db.session.get(Mailbox, mailbox_id)
        mailbox.replies_error = str(exc)[:1000]
        db.session.commit()
        found["errors"] += 1
        log.warning("mailbox %s not read for replies: %s", mailbox_id, exc)
        return
    found["mailboxes"] += 1
    found["replies"] += len(new)
    found["new"] += [reply.id for reply in new]


def read_mailbox(mailbox, limit=BATCH):
    """Read the new mail of ``mailbox``'s INBOX; the replies stored (``imap.MailboxError``
    when the mailbox cannot be read)."""
    conn = imap.connect(mailbox)
    try:
        validity = imap.examine(conn, "INBOX")
        since = None
        if validity != mailbox.inbox_uid_validity:
            mailbox.inbox_uid_validity, mailbox.inbox_last_uid = validity, 0
            since = utcnow() - timedelta(days=FIRST_READ_DAYS)
        uids = imap.uids_after(conn, mailbox.inbox_last_uid, since)[:limit]
        stored = _read_uids(conn, mailbox, validity, uids)
    finally:
        imap.close(conn)
    mailbox.replies_read_at, mailbox.replies_error = utcnow(), ""
    db.session.commit()
    return stored


def _read_uids(conn, mailbox, validity, uids):
    heads = imap.fetch_parts(conn, uids, HEADER_FIELDS)
    matched = {uid: message for uid in uids if (message := match_headers(heads.get(uid, b"")))}
    bodies = imap.fetch_parts(conn, list(matched), f"BODY.PEEK[]<0.{MAX_FETCH}>")
    stored = []
    for uid in uids:
        if uid in matched:
            reply = _store(mailbox, validity, uid, matched[uid], bodies.get(uid, b""))
            if reply is not None:
                stored.append(reply)
        mailbox.inbox_last_uid = max(mailbox.inbox_last_uid or 0, uid)
    return stored


def _store(mailbox, validity, uid, message, raw):
    """Store one reply (None when it is a delivery report or was stored before)."""
    if _exists(mailbox.id, validity, uid):
        return None
    read = read_reply(raw)
    if read is None or _seen_elsewhere(message.id, read.header_message_id):
        return None
    reply = Reply(
        message_id=message.id,
        mailbox_id=mailbox.id,
        uid_validity=validity,
        uid=uid,
        **asdict(read),
    )
    db.session.add(reply)
    if not read.auto and (message.replied_at is None or read.received_at < message.replied_at):
        message.replied_at = read.received_at
    try:
        db.session.commit()
    except IntegrityError:  # another run stored it meanwhile
        db.session.rollback()
        return None
    return reply


def _seen_elsewhere(message_id, header_message_id):
    """The same reply, read before from another mailbox (a copy to two users)."""
    if not header_message_id:
        return False
    query = db.select(Reply.id).where(
        Reply.message_id == message_id, Reply.header_message_id == header_message_id
    )
    return db.session.scalar(query.limit(1)) is not None


def _exists(mailbox_id, validity, uid):
    return db.session.scalar(
        db.select(Reply.id).where(
            Reply.mailbox_id == mailbox_id, Reply.uid_validity == validity, Reply.uid == uid
        )
    )


# Matching ---------------------------------------------------------------------------


def match_headers(head):
    """Our message that the mail with header bytes ``head`` answers, or None."""
    try:
        msg = email.message_from_bytes(bytes(head), policy=email.policy.compat32)
    except Exception:  # headers that cannot be read name no message
        return None
    in_reply_to = MESSAGE_ID.findall(_raw(msg, "in-reply-to"))
    references = MESSAGE_ID.findall(_raw(msg, "references"))
    wanted = [*in_reply_to, *reversed(references)][:MAX_REFERENCES]
    if wanted:
        found = {
            m.message_id: m
            for m in db.session.scalars(db.select(Message).where(Message.message_id.in_(wanted)))
        }
        for message_id in wanted:
            if message_id in found:
                return found[message_id]
    return _by_verp(msg)


def _by_verp(msg):
    fields = ("to", "cc", "delivered-to", "x-original-to")
    for _, address in getaddresses([_raw(msg, name) for name in fields]):
        message_id = bounces.message_id_from_verp(address)
        if message_id is not None:
            return db.session.get(Message, message_id)
    return None


def _raw(msg, name):
    values = [str(value) for key, value in msg.items() if key.lower() == name]
    return " ".join(values)[:20_000]


# Reading one reply ------------------------------------------------------------------


def read_reply(raw):
    """What to keep of the reply ``raw`` (bytes, maybe cut short); None for a delivery
    report. Never raises: what cannot be read is left out."""
    try:
        msg = email.message_from_bytes(bytes(raw), policy=email.policy.compat32)
    except Exception:
        log.warning("a reply could not be parsed", exc_info=True)
        return None
    if msg.get_content_type() == "multipart/report" or dsn.parse_bounce(bytes(raw)):
        return None
    name, address = _sender(msg)
    subject = _decoded(msg.get("subject", ""))[:1000]
    return ReadReply(
        header_message_id=_first_id(msg.get("message-id", "")),
        sender_name=name[:200],
        sender_email=address[:320],
        subject=subject,
        excerpt=_excerpt(msg),
        auto=is_auto_reply(msg, subject),
        received_at=_date(msg.get("date")),
    )


def is_auto_reply(msg, subject):
    """Whether the mail says it was sent by a machine (RFC 3834 and the usual signs)."""
    submitted = _decoded(msg.get("auto-submitted", "")).strip().lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return True
    if msg.get("x-autoreply") is not None or msg.get("x-autorespond") is not None:
        return True
    if _decoded(msg.get("precedence", "")).strip().lower() in AUTO_PRECEDENCE:
        return True
    return bool(AUTO_SUBJECT.match(subject))


def _sender(msg):
    try:
        [(name, address)] = getaddresses([str(msg.get("from", ""))])[:1] or [("", "")]
    except Exception:
        return "", ""
    return _decoded(name), _one_line(address).lower()


def _first_id(value):
    found = MESSAGE_ID.search(_one_line(str(value)))
    return found[0] if found else ""


def _date(value):
    now = utcnow()
    try:
        moment = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return now
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    # A Date in the future or long ago is a wrong clock: when it was read is closer.
    return moment if now - timedelta(days=3650) < moment <= now + timedelta(hours=1) else now


def _decoded(value):
    """A header as one clean line of text (encoded-words decoded; bad bytes replaced)."""
    try:
        text = str(make_header(decode_header(str(value))))
    except Exception:
        text = str(value)
    return _one_line(text)


def _one_line(text):
    text = text.encode("utf-8", "replace").decode("utf-8")
    return " ".join(CONTROL.sub(" ", text).split())


# The excerpt ------------------------------------------------------------------------


def _excerpt(msg):
    """The reply's own words as plain text: its text part, else its HTML made text; the
    quoted message left out; at most ``EXCERPT_CHARS``."""
    plain = html = None
    for part in _leaves(msg):
        kind = part.get_content_type()
        if plain is None and kind == "text/plain":
            plain = part
        elif html is None and kind == "text/html":
            html = part
    if plain is not None:
        text = _part_text(plain)
    elif html is not None:
        text = html_text(_part_text(html))
    else:
        return ""
    return _cut(_own_words(text))


def _leaves(part, depth=0):
    """The non-multipart parts, not looking into attachments or past ``MAX_DEPTH``."""
    if part.get_content_maintype() != "multipart":
        if part.get_content_disposition() != "attachment":
            yield part
        return
    payload = part.get_payload()
    if depth < MAX_DEPTH and isinstance(payload, list):
        for sub in payload[:50]:
            yield from _leaves(sub, depth + 1)


def _part_text(part):
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(data, bytes):
        return ""
    data = data[:MAX_FETCH]
    try:
        return data.decode(part.get_content_charset() or "utf-8", "replace")
    except (LookupError, UnicodeError):
        return data.decode("utf-8", "replace")


def html_text(html):
    """The text of an HTML body: no markup, no script or style, nothing fetched."""
    from inscriptis import get_text

    html = re.sub(r"(?is)<(script|style|head)\b.*?(</\1\s*>|$)", " ", html[:MAX_FETCH])
    try:
        return get_text(html)
    except Exception:  # markup lxml gives up on: keep the words between the tags
        return re.sub(r"<[^>]*>", " ", html)


def _own_words(text):
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.strip()
        if stripped.startswith(">"):
            continue
        if QUOTE_START.match(stripped) and lines:
            break
        lines.append(stripped)
    return "\n".join(lines)


def _cut(text):
    text = CONTROL.sub(" ", text)
    text = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1].rstrip() + "…"
    return text


# What pages show --------------------------------------------------------------------


def replies_to(message_id):
    """The replies to one message, oldest first."""
    query = db.select(Reply).where(Reply.message_id == message_id).order_by(Reply.received_at)
    return db.session.scalars(query).all()


def replies_shown(messages, may_see_system_mail=False):
    """The replies to ``messages`` a user may see, newest first: none to the product's own
    mail unless ``may_see_system_mail`` (the message page's rule, ``mail.views``)."""
    from designer.mail import is_system_mail

    ids = [m.id for m in messages if may_see_system_mail or not is_system_mail(m)]
    if not ids:
        return []
    query = (
        db.select(Reply)
        .where(Reply.message_id.in_(ids))
        .order_by(Reply.received_at.desc(), Reply.id.desc())
    )
    return db.session.scalars(query).all()


def forget_mailbox(mailbox):
    """A mailbox is unlinked: its replies stay on their messages, no longer tied to it."""
    db.session.execute(
        db.update(Reply).where(Reply.mailbox_id == mailbox.id).values(mailbox_id=None)
    )

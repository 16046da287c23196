"""The sending ledger and the local outbox.

``Message`` is the truth about every e-mail: one row per recipient, written
before anything is queued. RQ jobs carry only message ids; a worker claims a
row (queued -> sending with a lease), sends it and records the outcome. Rows
whose lease expired (a worker died) are requeued by the reaper.

``OutboxMessage`` holds what the local SMTP catcher received when no outgoing
server is configured; ``Suppression`` the addresses no campaign mail goes to.

A message or suppression names its campaign by a plain ``campaign_id``: campaigns
use mail, so mail's tables refer to no campaign table.
"""

from datetime import datetime
from urllib.parse import quote

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from designer.clock import utcnow
from designer.extensions import db

STATES = ("queued", "sending", "sent", "failed", "suppressed", "cancelled")


class Message(db.Model):
    """One e-mail to one recipient, and everything that happened to it."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_state_due", "state", "next_attempt_at"),
        #: A campaign's messages, and its recipients read newest first in cursor pages.
        Index("ix_messages_campaign_id_id", "campaign_id", "id"),
        #: A campaign's messages counted by state from the index alone (its progress bar).
        Index("ix_messages_campaign_id_state", "campaign_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: The campaign the message belongs to, if any (what the sending loop asks about it
    #: reaches it through ``designer.mail.gate``).
    campaign_id: Mapped[int | None]
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"))
    #: "marketing" or "transactional", from the template when the row was written: what
    #: the suppression list holds back (``designer.mail.consent``).
    purpose: Mapped[str] = mapped_column(String(15), default="marketing")
    #: A test send to the user who asked for it: its subject is marked ``[Test]``.
    test: Mapped[bool] = mapped_column(default=False)
    #: The subscription topic the message belongs to (its campaign's), if any: recipients
    #: who opted out of it are held back too (``designer.mail.consent``).
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    record_module: Mapped[str] = mapped_column(String(30), default="contact")
    record_id: Mapped[int | None]
    recipient_email: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    from_address: Mapped[str] = mapped_column(String(400), default="")
    subject: Mapped[str] = mapped_column(String(1000), default="")
    locale: Mapped[str] = mapped_column(String(10), default="")
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    smtp_reply: Mapped[str] = mapped_column(Text, default="")
    #: The Message-ID header it went out with (``<…>``): replies name it (In-Reply-To).
    message_id: Mapped[str] = mapped_column(String(300), default="", index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    open_count: Mapped[int] = mapped_column(default=0)
    #: Opens that were likely a person (not a privacy proxy, scanner or prefetch).
    human_open_count: Mapped[int] = mapped_column(default=0)
    click_count: Mapped[int] = mapped_column(default=0)
    human_click_count: Mapped[int] = mapped_column(default=0)
    first_opened_at: Mapped[datetime | None]
    last_opened_at: Mapped[datetime | None]
    #: "" (none known), "soft" or "hard": the worst bounce reported for this message.
    bounce: Mapped[str] = mapped_column(String(4), default="")
    #: When the first reply from a person (not an auto-reply) was read
    #: (``designer.mail.replies``).
    replied_at: Mapped[datetime | None]
    #: PDF templates attached to this message besides its template's own (workflows).
    attach_pdf_ids: Mapped[list | None] = mapped_column(JSON, default=None)
    #: More addresses in To, and the copies (``designer.mail.copies``): lists of addresses.
    #: Bcc goes in the SMTP envelope only, never in a header of the sent bytes.
    to_extra: Mapped[list | None] = mapped_column(JSON, default=None)
    cc: Mapped[list | None] = mapped_column(JSON, default=None)
    bcc: Mapped[list | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    template_version = relationship("TemplateVersion")
    sender = relationship("User")
    contact = relationship("Contact")
    organisation = relationship("Organisation")
    files = relationship("MessageFile", order_by="MessageFile.id", viewonly=True)

    @property
    def envelope_recipients(self):
        """Every address the message goes to: To (the record's first), Cc, then Bcc."""
        return [self.recipient_email, *(self.to_extra or ()), *(self.cc or ()), *(self.bcc or ())]


class MessageFile(db.Model):
    """A file a user uploaded to go along with one message (``designer.mail.uploads``).

    Kept unlinked (``message_id`` None) while the message is being written, then linked
    to it when it is confirmed; delivered as a MIME attachment."""

    __tablename__ = "message_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(default=0)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(db.Model):
    """A message received by the local SMTP catcher, kept as raw bytes."""

    __tablename__ = "outbox_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    mail_from: Mapped[str] = mapped_column(String(400), default="")
    rcpt_to: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(1000), default="")
    #: The From and Cc headers as the recipients see them (``mail_from`` is the envelope
    #: sender: the bounce address).
    from_header: Mapped[str] = mapped_column(String(1000), default="")
    cc_header: Mapped[str] = mapped_column(Text, default="")
    #: ``[{"name", "type", "size"}]`` of the message's attachments, in order.
    attachments: Mapped[list | None] = mapped_column(JSON, default=None)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    #: Mail the product sent itself (e.g. a set-password link): shown to administrators only.
    system_mail: Mapped[bool] = mapped_column(default=False)


class OutgoingServer(db.Model):
    """An SMTP server mail goes out through: the default one, or one user's own."""

    __tablename__ = "outgoing_servers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=587)
    security: Mapped[str] = mapped_column(String(10), default="starttls")
    username: Mapped[str] = mapped_column(String(320), default="")
    password_encrypted: Mapped[str] = mapped_column(Text, default="")
    timeout: Mapped[int] = mapped_column(default=30)
    #: Messages a second through this server (0: no limit).
    rate_limit: Mapped[float] = mapped_column(default=0.0)
    is_default: Mapped[bool] = mapped_column(default=False)
    #: Set for a user's own server; None for shared servers.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Mailbox(db.Model):
    """A user's own mailbox (IMAP), where copies of the mail they send are kept."""

    __tablename__ = "mailboxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=993)
    security: Mapped[str] = mapped_column(String(10), default="tls")
    username: Mapped[str] = mapped_column(String(320))
    password_encrypted: Mapped[str] = mapped_column(Text, default="")
    #: Empty: found through the \\Sent special-use flag, else "Sent".
    sent_folder: Mapped[str] = mapped_column(String(255), default="")
    #: Where reading the INBOX for replies got to (``designer.mail.replies``): the folder's
    #: UIDVALIDITY and the last UID read; a new UIDVALIDITY starts over.
    inbox_uid_validity: Mapped[int | None] = mapped_column(BigInteger)
    inbox_last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    replies_read_at: Mapped[datetime | None]
    replies_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthGrant(db.Model):
    """An OAuth2 sign-in to a mail account (Google, Microsoft 365, another provider): what
    a mailbox, an outgoing server or the bounce mailbox logs in with instead of a password.

    Exactly one of ``mailbox_id``, ``server_id`` and ``bounces`` says whose it is. The
    tokens are encrypted (``designer.crypto``); ``state`` is "ok" or "reconnect" (the
    provider refused the refresh token: someone must sign in again).
    """

    __tablename__ = "oauth_grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    account: Mapped[str] = mapped_column(String(320))
    refresh_token_encrypted: Mapped[str] = mapped_column(Text, default="")
    access_token_encrypted: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(10), default="ok")
    last_error: Mapped[str] = mapped_column(Text, default="")
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), unique=True
    )
    server_id: Mapped[int | None] = mapped_column(
        ForeignKey("outgoing_servers.id", ondelete="CASCADE"), unique=True
    )
    bounces: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    refreshed_at: Mapped[datetime | None]


class SentCopy(db.Model):
    """The exact bytes of a sent message, waiting for (or done with) IMAP APPEND."""

    __tablename__ = "sent_copies"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str] = mapped_column(String(255), default="")
    next_attempt_at: Mapped[datetime | None]
    appended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reply(db.Model):
    """A mail in a user's INBOX answering one of our messages (``designer.mail.replies``).

    Keyed by where it lies (mailbox, UIDVALIDITY, UID), so reading again never
    stores it twice; the excerpt is plain text, cut short."""

    __tablename__ = "replies"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "uid_validity", "uid", name="uq_replies_mailbox_uid"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    #: None once the mailbox is unlinked (the reply stays on the message).
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id"))
    uid_validity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    #: The reply's own Message-ID header (``<…>``), for opening it in the user's mail.
    header_message_id: Mapped[str] = mapped_column(String(300), default="")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    sender_email: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(1000), default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    #: An automatic answer (out of office, RFC 3834 ``Auto-Submitted``), not a person's.
    auto: Mapped[bool] = mapped_column(default=False)
    #: The reply's Date header (else when it was read), UTC.
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message = relationship("Message")

    @property
    def open_link(self):
        """A ``message:`` URL of the reply's Message-ID (RFC 2392 form: what Apple Mail and
        mail programs with a handler open), or "" when it has none."""
        if not self.header_message_id:
            return ""
        return "message:" + quote(self.header_message_id, safe="@.")


class DkimKey(db.Model):
    """The DKIM signing key of one sending domain (private key encrypted at rest)."""

    __tablename__ = "dkim_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    selector: Mapped[str] = mapped_column(String(63), default="designer")
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bounce(db.Model):
    """One reported failure to deliver: from a DSN in the bounce mailbox, or a 5xx at send."""

    __tablename__ = "bounces"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(4))  #: "hard" or "soft"
    status: Mapped[str] = mapped_column(String(20), default="")
    diagnostic: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(4), default="dsn")  #: "dsn" or "smtp"
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suppression(db.Model):
    """An address no campaign mail goes to (unsubscribed, bounced, complained)."""

    __tablename__ = "suppressions"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    reason: Mapped[str] = mapped_column(String(30), default="unsubscribed")
    #: The campaign whose mail led to it (an unsubscribe link, a bounce), if any.
    campaign_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SuppressionEvent(db.Model):
    """One change to the suppression list, kept for good: an address added, imported or
    removed, by whom (a user, or what added it by itself: an unsubscribe link, a bounce,
    the CRM) and why."""

    __tablename__ = "suppression_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    #: "added", "imported" or "removed".
    action: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(30), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    campaign_id: Mapped[int | None]
    #: The user who made the change; None for automatic ones.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Who, in words: the user's e-mail address, or "unsubscribe link", "bounce", "CRM",
    #: "preference page", "system".
    actor: Mapped[str] = mapped_column(String(320), default="")
    #: The topic of a change to one topic's opt-outs; None for the list itself ("all").
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Topic(db.Model):
    """A subscription topic an administrator defines ("Newsletter", "Events"): a campaign
    may belong to one, and a recipient may opt out of it alone (``designer.mail.topics``)."""

    __tablename__ = "topics"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    #: Archived topics are offered to no campaign and shown on no preference page.
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TopicOptOut(db.Model):
    """An address that gets no mail of one topic (the rest of its marketing mail still goes)."""

    __tablename__ = "topic_opt_outs"
    __table_args__ = (UniqueConstraint("email", "topic_id", name="uq_topic_opt_outs_email_topic"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    topic: Mapped[Topic] = relationship()

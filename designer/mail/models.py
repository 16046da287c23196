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

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from designer.clock import utcnow
from designer.extensions import db

STATES = ("queued", "sending", "sent", "failed", "suppressed", "cancelled")


class Message(db.Model):
    """One e-mail to one recipient, and everything that happened to it."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_state_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: The campaign the message belongs to, if any (what the sending loop asks about it
    #: reaches it through ``designer.mail.gate``).
    campaign_id: Mapped[int | None] = mapped_column(index=True)
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
    message_id: Mapped[str] = mapped_column(String(300), default="")
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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

"""Mail: the sending ledger, sender resolution, MIME, SMTP transport, the suppression list
and unsubscribe, signed tracking links, and the local outbox.

Other parts queue mail and read outcomes through these functions only. The
sending loop knows no campaign: what it asks of campaigns reaches it as a
gate (``designer.mail.gate``).
"""

from designer import keyset
from designer.extensions import db
from designer.mail.delivery import build_message, deliver_batch, link_target
from designer.mail.gate import CLOSED, CampaignGate
from designer.mail.lease import requeue_expired_leases
from designer.mail.ledger import NoRecipient, dispatch_due, new_message, queue_message
from designer.mail.models import Message, OutboxMessage
from designer.mail.sender import resolve_sender
from designer.mail.suppression import is_suppressed, suppress

__all__ = [
    "CLOSED",
    "CampaignGate",
    "Message",
    "NoRecipient",
    "OutboxMessage",
    "build_message",
    "deliver_batch",
    "dispatch_due",
    "find_by_token",
    "get_message",
    "get_outbox_message",
    "is_suppressed",
    "is_system_mail",
    "link_target",
    "new_message",
    "outbox_page",
    "queue_message",
    "requeue_expired_leases",
    "resolve_sender",
    "suppress",
]


def get_message(message_id):
    return db.session.get(Message, message_id)


def outbox_page(before=None, system_mail=True):
    """A page of what the local catcher received, newest first (``keyset.Page``);
    ``system_mail=False`` leaves out the product's own mail (set-password links are for
    their recipient and administrators)."""
    query = db.select(OutboxMessage)
    if not system_mail:
        query = query.where(OutboxMessage.system_mail.is_(False))
    return keyset.newest_first(query, OutboxMessage.id, before)


def is_system_mail(message):
    """Whether the ledger row is mail the product sent itself (a built-in template)."""
    from designer.templating.system import is_system

    return is_system(message.template_version.template)


def get_outbox_message(outbox_id):
    return db.session.get(OutboxMessage, outbox_id)


def find_by_token(token):
    """The message with this tracking token, or None."""
    return db.session.scalar(db.select(Message).where(Message.token == token))

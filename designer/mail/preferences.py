"""The recipient's preference page: ``{{ preferences_url }}`` leads to ``/p/<token>``.

The token is ``<message token>.<signature>``, signed like the web view's with a MAC of
its own kind (``designer.mail.links``), so it names one message and, through it, one
address; nobody else's choices can be seen or changed with it. The page needs no login:
the token in its address is the proof, for showing and for saving alike (a forged POST
would need the token, which only the mail carries), so it works without cookies and
without JavaScript.

The recipient ticks the active topics (``designer.mail.topics``) they want; an unticked
topic is an opt-out of that topic. "Unsubscribe from all" puts the address on the
suppression list (reason ``unsubscribed``), as the unsubscribe link does. Unticking it
again is the recipient's explicit re-subscription, logged in the suppression audit like
every change made here (actor "preference page"). Only an unsubscribe can be undone
here: an address held back because it bounced, complained or opted out in the CRM
stays so, and the page says whom to ask.
"""

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.exc import IntegrityError

from designer.extensions import db
from designer.mail import consent, suppression, suppression_audit, topics
from designer.mail.links import signer_for
from designer.mail.models import Message, Suppression
from designer.templating.system import is_system

ACTOR = suppression_audit.PREFERENCE_PAGE
#: The only reason on the suppression list a recipient may lift here.
LIFTABLE = "unsubscribed"


class NoPreferences(LookupError):
    """The token names no message whose recipient has a preference page."""


@dataclass
class Choices:
    """What the page shows: the address (masked), each active topic and whether the
    address gets it, and the "all" switch."""

    email: str
    masked: str
    topics: list = field(default_factory=list)  #: ``[(topic, subscribed)]``
    unsubscribed_all: bool = False
    #: Why the list holds the address back, when the recipient cannot lift it here.
    locked_reason: str = ""


@dataclass
class Saved:
    """What saving changed, for the confirmation."""

    opted_out: list = field(default_factory=list)
    subscribed: list = field(default_factory=list)
    unsubscribed_all: bool = False
    resubscribed: bool = False

    @property
    def changed(self):
        return bool(self.opted_out or self.subscribed or self.unsubscribed_all or self.resubscribed)


def preferences_url(message_token):
    """The preference page of the recipient of the message with ``message_token``."""
    return signer_for(current_app).preferences_url(message_token)


def message_for(token):
    """The message a preference page token names; ``NoPreferences`` otherwise."""
    message_token = signer_for(current_app).parse_preferences(token)
    if message_token is None:
        raise NoPreferences("the link is not one of ours")
    message = db.session.scalar(db.select(Message).where(Message.token == message_token))
    if message is None or not message.recipient_email:
        raise NoPreferences("no message has this link")
    if is_system(message.template_version.template):
        raise NoPreferences("mail of the product itself has no preference page")
    return message


def masked(email):
    """``jan@bakkerij.example`` as ``j**@bakkerij.example``: enough to recognise one's own."""
    local, _, domain = email.partition("@")
    shown = local[:1] if len(local) <= 3 else local[:2]
    return f"{shown}{'*' * max(len(local) - len(shown), 2)}@{domain}"


def choices_of(email):
    """The page's ``Choices`` for ``email``."""
    email = email.strip().lower()
    listed = consent.suppressions_among([email]).get(email)
    opted = topics.opted_out_topic_ids(email)
    locked = ""
    if listed is not None and listed[0] != LIFTABLE:
        locked = consent.reason_label(listed[0])
    return Choices(
        email=email,
        masked=masked(email),
        topics=[(topic, topic.id not in opted) for topic in topics.active_topics()],
        unsubscribed_all=listed is not None,
        locked_reason=locked,
    )


def save_choices(message, wanted_topic_ids, unsubscribe_all):
    """Record the recipient's choices: the active topics they want (the others become
    opt-outs) and the "all" switch. Every change is audited; returns ``Saved``."""
    email = message.recipient_email.strip().lower()
    wanted = set(wanted_topic_ids)
    saved = Saved()
    for _attempt in range(3):  # the same form sent twice at once makes the insert clash
        active = {topic.id for topic in topics.active_topics()}
        try:
            saved.opted_out, saved.subscribed = topics.set_opt_outs(email, active - wanted, ACTOR)
            db.session.commit()
            break
        except IntegrityError:
            db.session.rollback()
    listed = db.session.scalar(db.select(Suppression).where(Suppression.email == email))
    if unsubscribe_all and listed is None:
        saved.unsubscribed_all = suppression.suppress(
            email, "unsubscribed", message.campaign_id, actor=ACTOR
        )
    elif not unsubscribe_all and listed is not None and listed.reason == LIFTABLE:
        saved.resubscribed = _resubscribe(listed)
    return saved


def _resubscribe(listed):
    suppression_audit.new_event(
        listed.email,
        "removed",
        reason=listed.reason,
        note="re-subscribed by the recipient",
        campaign_id=listed.campaign_id,
        actor=ACTOR,
    )
    db.session.delete(listed)
    db.session.commit()
    return True

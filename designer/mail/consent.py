"""Consent: which mail the suppression list holds back, and why, in words.

Every message carries its purpose (``Message.purpose``, from its template:
``designer.templating.purpose``). Marketing mail is held back for any address
on the suppression list; transactional mail only for an address that does
not exist (a hard bounce). The check runs twice: when the ledger row is
written (the row is then written ``suppressed``, with the reason, and never
queued) and again in the sending loop right before SMTP, for rows queued
before the address was suppressed.

Suppression is per topic plus "all": the suppression list holds back every marketing
message; an opt-out of one subscription topic (``designer.mail.topics``) holds back the
marketing mail of that topic only (a message's topic is its campaign's,
``Message.topic_id``). Transactional mail is never held back by a topic opt-out.

The CRM's opt-out (``email_opt_out`` on a contact or organisation posted to
the hooks or the API, vtiger's ``emailoptout``) suppresses the address with
the reason ``crm_opt_out``. When the CRM clears it, only that suppression is
lifted: an unsubscribe or a bounce stays.
"""

from functools import cache

from sqlalchemy import delete

from designer.extensions import db
from designer.mail import suppression_audit, topics
from designer.mail.models import Suppression

MARKETING, TRANSACTIONAL = "marketing", "transactional"
#: The reason of a suppression the CRM's opt-out made.
CRM_OPT_OUT = "crm_opt_out"
#: The reason of a hold-back for an opt-out of the message's topic.
TOPIC_OPT_OUT = "topic_opt_out"
#: The suppressions that hold back transactional mail too: the address does not exist.
HOLDS_TRANSACTIONAL = frozenset({"bounced"})
#: Each suppression reason in words (a reason not named here is shown as it is).
REASON_LABELS = {
    "unsubscribed": "unsubscribed",
    "bounced": "hard bounce (the address does not exist)",
    "soft-bounced": "repeated soft bounces",
    CRM_OPT_OUT: "opted out in the CRM",
    TOPIC_OPT_OUT: "opted out of the topic",
}
#: The values of ``email_opt_out`` that mean yes, and no.
YES = frozenset({"1", "true", "yes", "on"})
NO = frozenset({"0", "false", "no", "off", ""})


def reason_label(reason):
    return REASON_LABELS.get(reason, reason.replace("_", " "))


def held_back_text(reason, since, topic=None):
    """``held back: unsubscribed on 3 Dec 2026`` (``opted out of “Events” on …`` for an
    opt-out of the topic named ``topic``)."""
    label = f"opted out of “{topic}”" if topic else reason_label(reason)
    text = f"held back: {label}"
    return f"{text} on {since.day} {since:%b %Y}" if since else text


def holds_back(purpose, reason):
    """Whether a suppression for ``reason`` holds back mail of ``purpose``."""
    return purpose != TRANSACTIONAL or reason in HOLDS_TRANSACTIONAL


def suppressions_among(emails):
    """``{lower-cased address: (reason, since)}`` of ``emails`` on the suppression list
    (no query when there are none)."""
    wanted, found = sorted({email.strip().lower() for email in emails if email}), {}
    for start in range(0, len(wanted), 500):
        query = db.select(Suppression.email, Suppression.reason, Suppression.created_at).where(
            Suppression.email.in_(wanted[start : start + 500])
        )
        found.update({email: (reason, since) for email, reason, since in db.session.execute(query)})
    return found


def suppression_of(email, topic_id=None):
    """``(reason, since)`` of ``email`` on the suppression list, or None; with ``topic_id``,
    an opt-out of that topic when the list does not hold the address:
    ``(TOPIC_OPT_OUT, since, topic name)``."""
    address = (email or "").strip().lower()
    found = suppressions_among([email]).get(address)
    if found is None and topic_id:
        opted = topics.opt_outs_among([(address, topic_id)]).get((address, topic_id))
        if opted is not None:
            found = (TOPIC_OPT_OUT, opted[1], opted[0])
    return found


def hold_back_reason(purpose, found):
    """The reason text a message of ``purpose`` is held back for, given what the list says
    of its address (``(reason, since)``, ``(reason, since, topic)`` or None, as
    ``suppression_of`` gives it); None when it may go."""
    if found is None or not holds_back(purpose, found[0]):
        return None
    return held_back_text(*found)


def hold_back_reasons(messages):
    """A function giving the hold-back reason (or None) of each of the ledger rows
    ``messages``, looked up for all of them at once: the suppression list, and opt-outs
    of each row's topic."""
    listed = suppressions_among(m.recipient_email for m in messages)
    opted = topics.opt_outs_among((m.recipient_email, m.topic_id) for m in messages)

    def reason(message):
        address = message.recipient_email.lower()
        found = listed.get(address)
        if found is None and (address, message.topic_id) in opted:
            name, since = opted[(address, message.topic_id)]
            found = (TOPIC_OPT_OUT, since, name)
        return hold_back_reason(message.purpose, found)

    return reason


def hold_back(messages):
    """Mark the unsaved ledger rows ``messages`` whose address is suppressed for their
    purpose (or opted out of their topic) ``suppressed``, with the reason; return those
    rows."""
    reason_of = hold_back_reasons(messages)
    held = []
    for message in messages:
        reason = reason_of(message)
        if reason is not None:
            message.state, message.last_error = "suppressed", reason
            held.append(message)
    return held


# -- the CRM's opt-out ----------------------------------------------------------------


def opt_out_flag(value):
    """``email_opt_out`` as True or False; ``ValueError`` for anything else."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().lower()
    else:
        text = None
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError("must be true or false (1/0, yes/no and on/off are understood too)")


def apply_crm_opt_outs(opt_outs):
    """Bring the suppression list in line with the CRM: ``{address: opted out}``.

    An address that opted out is suppressed (``crm_opt_out``) unless it is already on
    the list for any reason; one that no longer opts out loses a ``crm_opt_out``
    suppression only. Written in the session's transaction: the caller commits.
    """
    opted = sorted({_address(a) for a, out in opt_outs.items() if out} - {""})
    cleared = sorted({_address(a) for a, out in opt_outs.items() if not out} - {""} - set(opted))
    if opted:
        statement = _insert_ignoring_listed(db.engine.dialect.name)
        for email in opted:  # one row at a time: RETURNING says which were new
            added = db.session.execute(statement, {"email": email, "reason": CRM_OPT_OUT})
            if added.first() is not None:
                suppression_audit.log_automatic(email, CRM_OPT_OUT)
    if cleared:
        lifted = db.session.execute(
            delete(Suppression)
            .where(Suppression.email.in_(cleared), Suppression.reason == CRM_OPT_OUT)
            .returning(Suppression.email),
            execution_options={"synchronize_session": False},
        )
        for email in lifted.scalars().all():
            suppression_audit.new_event(
                email, "removed", reason=CRM_OPT_OUT, note="the CRM no longer opts it out"
            )


def _address(value):
    return (value or "").strip().lower()


@cache
def _insert_ignoring_listed(dialect):
    """An insert of suppressions that leaves an address already listed as it is."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return (
        insert(Suppression.__table__)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(Suppression.__table__.c.email)
    )


def copies_going(message, suppressed):
    """The other addresses of ``message`` (more To, Cc, Bcc) that may get it: those the
    suppression list (``suppressed``, from ``suppressions_among``) does not hold back."""
    return [
        address
        for address in message.envelope_recipients[1:]
        if hold_back_reason(message.purpose, suppressed.get(address.lower())) is None
    ]

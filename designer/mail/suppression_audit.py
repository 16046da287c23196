"""The suppression list's audit trail: every address added, imported or removed, with who,
when, the reason and a note.

People change the list on the Suppressions page; the product changes it by itself when a
recipient clicks an unsubscribe link, an address bounces or the CRM reports an opt-out
(``suppress`` logs those here), and recipients change it on the preference page (the
"all" switch and their opt-outs of single topics, ``designer.mail.preferences``). Nothing
in the trail is ever changed or deleted.
"""

from designer.clock import utcnow
from designer.extensions import db
from designer.i18n import _l
from designer.mail.models import SuppressionEvent

#: Entries on one page of the trail.
PER_PAGE = 50
#: Who added an address by itself, by the reason ``suppress`` was given.
AUTOMATIC_SOURCES = {
    "unsubscribed": "unsubscribe link",
    "bounced": "bounce",
    "soft-bounced": "bounce",
    "crm_opt_out": "CRM",
}
#: Who made an automatic change of no known source.
SYSTEM = "system"
#: Who made a change the recipient asked for on the preference page.
PREFERENCE_PAGE = "preference page"
#: The actions, in words.
ACTIONS = {"added": _l("Added"), "imported": _l("Imported"), "removed": _l("Removed")}


def automatic_source(reason):
    """What added an address with ``reason`` by itself ("bounce", "CRM", …)."""
    return AUTOMATIC_SOURCES.get(reason, SYSTEM)


def new_event(
    email, action, *, reason="", note="", campaign_id=None, user=None, topic_id=None, actor=None
):
    """An audit entry (added to the session, saved with the change it records); ``topic_id``
    names the topic of a per-topic opt-out, ``actor`` who made an automatic change."""
    if actor is None:
        actor = user.email if user is not None else automatic_source(reason)
    event = SuppressionEvent(
        email=email,
        action=action,
        reason=reason or "",
        note=(note or "")[:500],
        campaign_id=campaign_id,
        user_id=user.id if user is not None else None,
        actor=actor,
        topic_id=topic_id,
    )
    db.session.add(event)
    return event


def log_automatic(email, reason, campaign_id=None, actor=None):
    """Record an address the product suppressed by itself (not saved until committed)."""
    return new_event(email, "added", reason=reason, campaign_id=campaign_id, actor=actor)


def event_rows(user, action, addresses, entries):
    """Rows for a bulk insert of one entry by ``user`` per address of ``addresses``, with its
    reason and note from ``entries`` (``{address: (reason, note)}``)."""
    now = utcnow()
    return [
        {
            "email": address,
            "action": action,
            "reason": entries[address][0],
            "note": entries[address][1][:500],
            "campaign_id": None,
            "user_id": user.id,
            "actor": user.email,
            "created_at": now,
        }
        for address in addresses
    ]


def recent(text="", page=1, per_page=PER_PAGE):
    """One page of the trail, latest first, for addresses containing ``text``: ``(entries,
    more)``."""
    query = db.select(SuppressionEvent).order_by(SuppressionEvent.id.desc())
    if text:
        query = query.where(SuppressionEvent.email.contains(text.lower(), autoescape=True))
    query = query.offset((page - 1) * per_page).limit(per_page + 1)
    entries = db.session.scalars(query).all()
    return entries[:per_page], len(entries) > per_page


def last_additions(emails):
    """``{email: the latest "added"/"imported" entry}`` for the addresses that have one."""
    wanted = list(emails)
    if not wanted:
        return {}
    query = (
        db.select(SuppressionEvent)
        .where(SuppressionEvent.email.in_(wanted))
        .where(SuppressionEvent.action.in_(("added", "imported")))
        .order_by(SuppressionEvent.id)
    )
    return {event.email: event for event in db.session.scalars(query)}


def who_added(emails):
    """``{email: (actor, note)}`` of the latest addition of each address that has one."""
    query = (
        db.select(SuppressionEvent.email, SuppressionEvent.actor, SuppressionEvent.note)
        .where(SuppressionEvent.email.in_(emails))
        .where(SuppressionEvent.action.in_(("added", "imported")))
        .order_by(SuppressionEvent.id)
    )
    return {email: (actor, note) for email, actor, note in db.session.execute(query)}

"""Subscription topics and the opt-outs of one topic.

Administrators define the topics ("Newsletter", "Events"): add, rename, describe,
archive. A campaign may belong to one topic; a recipient may opt out of one topic on
the preference page (``designer.mail.preferences``) and still get the others. The
suppression list (``designer.mail.suppression``) stays the "all" switch: an address on
it gets no marketing mail of any topic. Which mail an opt-out holds back is
``designer.mail.consent``'s; every opt-out and its lifting is in the suppression audit.

Archived topics are offered to no new campaign and shown on no preference page; their
opt-outs are kept (a topic brought back holds back the same people).
"""

from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from designer.clock import utcnow
from designer.extensions import db
from designer.mail import suppression_audit
from designer.mail.models import Topic, TopicOptOut

#: Longest topic name and description.
MAX_NAME, MAX_DESCRIPTION = 60, 300
#: Most topics that may be active at once (each is a checkbox on the preference page).
MAX_ACTIVE = 30


class TopicRefused(ValueError):
    """A change to the topics refused, with a sentence saying why."""


def active_topics():
    """The topics offered to campaigns and on the preference page, by name."""
    query = db.select(Topic).where(Topic.archived_at.is_(None)).order_by(Topic.name)
    return db.session.scalars(query).all()


def all_topics():
    """Every topic, active ones first, each group by name."""
    query = db.select(Topic).order_by(Topic.archived_at.is_not(None), Topic.name)
    return db.session.scalars(query).all()


def get_topic(topic_id):
    return db.session.get(Topic, topic_id) if topic_id else None


def active_topic(topic_id):
    """The active topic ``topic_id``; ``TopicRefused`` when there is none."""
    topic = get_topic(topic_id)
    if topic is None or topic.archived_at is not None:
        raise TopicRefused(_("Choose a topic from the list (that one is archived or gone)."))
    return topic


def _checked(name, description):
    name = " ".join((name or "").split())
    description = " ".join((description or "").split())
    if not name:
        raise TopicRefused(_("Give the topic a name."))
    if len(name) > MAX_NAME:
        raise TopicRefused(_("The name is longer than %(limit)s characters.", limit=MAX_NAME))
    if len(description) > MAX_DESCRIPTION:
        raise TopicRefused(
            _("The description is longer than %(limit)s characters.", limit=MAX_DESCRIPTION)
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in name + description):
        raise TopicRefused(_("The name or description contains control characters."))
    return name, description


def _refuse_taken(name, topic_id=None):
    query = db.select(Topic.id).where(db.func.lower(Topic.name) == name.lower())
    if topic_id is not None:
        query = query.where(Topic.id != topic_id)
    if db.session.scalar(query) is not None:
        raise TopicRefused(
            _("There is a topic named “%(name)s” already (archived ones count too).", name=name)
        )


def _save(topic):
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise TopicRefused(
            _("There is a topic named “%(name)s” already.", name=topic.name)
        ) from None
    return topic


def _too_many():
    return _("There are %(count)s active topics already: archive one first.", count=MAX_ACTIVE)


def add_topic(name, description=""):
    name, description = _checked(name, description)
    _refuse_taken(name)
    if len(active_topics()) >= MAX_ACTIVE:
        raise TopicRefused(_too_many())
    topic = Topic(name=name, description=description)
    db.session.add(topic)
    return _save(topic)


def change_topic(topic, name, description):
    """Rename and describe ``topic`` (campaigns and opt-outs keep pointing at it)."""
    name, description = _checked(name, description)
    _refuse_taken(name, topic.id)
    topic.name, topic.description = name, description
    return _save(topic)


def archive_topic(topic):
    if topic.archived_at is None:
        topic.archived_at = utcnow()
        db.session.commit()


def restore_topic(topic):
    if topic.archived_at is not None:
        if len(active_topics()) >= MAX_ACTIVE:
            raise TopicRefused(_too_many())
        topic.archived_at = None
        db.session.commit()


# -- opt-outs ---------------------------------------------------------------------------


def opted_out_topic_ids(email):
    """The ids of the topics ``email`` opted out of."""
    query = db.select(TopicOptOut.topic_id).where(TopicOptOut.email == _address(email))
    return set(db.session.scalars(query))


def opt_outs_among(pairs):
    """``{(address, topic id): (topic name, since)}`` of the ``(address, topic id)`` pairs
    that are opted out (addresses lower-cased)."""
    wanted = {(_address(email), topic_id) for email, topic_id in pairs if email and topic_id}
    found = {}
    emails = sorted({email for email, _ in wanted})
    for start in range(0, len(emails), 500):
        query = (
            db.select(TopicOptOut.email, TopicOptOut.topic_id, Topic.name, TopicOptOut.created_at)
            .join(Topic, Topic.id == TopicOptOut.topic_id)
            .where(TopicOptOut.email.in_(emails[start : start + 500]))
        )
        for email, topic_id, name, since in db.session.execute(query):
            if (email, topic_id) in wanted:
                found[(email, topic_id)] = (name, since)
    return found


def opted_out_set(topic_id):
    """Every address (lower-cased) that opted out of ``topic_id``."""
    query = db.select(TopicOptOut.email).where(TopicOptOut.topic_id == topic_id)
    return set(db.session.scalars(query))


def set_opt_outs(email, opted_out, actor, note=""):
    """Make ``email``'s opt-outs of the active topics exactly ``opted_out`` (topic ids),
    each change audited as by ``actor``; not committed. Returns ``(added, lifted)``
    topic names."""
    email = _address(email)
    active = {topic.id: topic for topic in active_topics()}
    wanted = set(opted_out) & set(active)
    current = opted_out_topic_ids(email) & set(active)
    added = sorted(wanted - current)
    lifted = sorted(current - wanted)
    for topic_id in added:
        db.session.add(TopicOptOut(email=email, topic_id=topic_id))
        suppression_audit.new_event(
            email, "added", reason="topic_opt_out", note=note, topic_id=topic_id, actor=actor
        )
    if lifted:
        db.session.execute(
            delete(TopicOptOut).where(TopicOptOut.email == email, TopicOptOut.topic_id.in_(lifted)),
            execution_options={"synchronize_session": False},
        )
    for topic_id in lifted:
        suppression_audit.new_event(
            email, "removed", reason="topic_opt_out", note=note, topic_id=topic_id, actor=actor
        )
    return [active[i].name for i in added], [active[i].name for i in lifted]


def search_opt_outs(text="", limit=200):
    """The latest per-topic opt-outs (of addresses containing ``text``), with their topic:
    ``(entries, total)``."""
    query = db.select(TopicOptOut).join(Topic, Topic.id == TopicOptOut.topic_id)
    count = db.select(db.func.count(TopicOptOut.id))
    text = (text or "").strip().lower()
    if text:
        query = query.where(TopicOptOut.email.contains(text, autoescape=True))
        count = count.where(TopicOptOut.email.contains(text, autoescape=True))
    query = query.order_by(TopicOptOut.created_at.desc(), TopicOptOut.id.desc()).limit(limit)
    return db.session.scalars(query).all(), db.session.scalar(count)


def _address(email):
    return (email or "").strip().lower()

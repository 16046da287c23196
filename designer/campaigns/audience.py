"""Audiences: a segment's filters turned into a query over contacts and organisations.

Only the fields listed here can be filtered on, with a fixed set of
operators, so filters are data, never SQL.
"""

from sqlalchemy import Integer, and_, exists, func, or_

from designer.extensions import db
from designer.mail.models import Message
from designer.records.models import Contact, Organisation

FIELDS = {
    "contact.language": Contact.language,
    "contact.title": Contact.title,
    "contact.email": Contact.email,
    "organisation.industry": Organisation.industry,
    "organisation.language": Organisation.language,
    "organisation.country": Organisation.country,
    "organisation.city": Organisation.city,
    "organisation.owner_id": Organisation.owner_id,
    "organisation.name": Organisation.name,
}
OPERATORS = ("eq", "ne", "in", "contains", "has_tag")
SPECIAL = ("contact.tags", "opened_campaign", "not_opened_campaign", "received_campaign")


class FilterInvalid(ValueError):
    """A filter names an unknown field or operator."""


def condition(rule):
    """One filter rule as a SQL condition."""
    field, op, value = rule.get("field"), rule.get("op", "eq"), rule.get("value")
    if field == "contact.tags":
        return _tag_condition(value)
    if field in SPECIAL:
        return _campaign_condition(field, value)
    column = FIELDS.get(field)
    if column is None:
        raise FilterInvalid(f"cannot filter on {field!r}; choose one of {', '.join(FIELDS)}")
    if op == "eq":
        return column == _typed(field, column, value)
    if op == "ne":
        return or_(column != _typed(field, column, value), column.is_(None))
    if op == "in":
        items = value if isinstance(value, list) else str(value).split(",")
        return column.in_([_typed(field, column, item) for item in items])
    if op == "contains" and not isinstance(column.type, Integer):
        return func.lower(column).contains(str(value).lower())
    raise FilterInvalid(
        f"{field} cannot use the operator {op!r}; choose one of "
        f"{', '.join(o for o in OPERATORS if o != 'has_tag')}"
    )


def _typed(field, column, value):
    """``value`` as the column compares it: ids are whole numbers."""
    if not isinstance(column.type, Integer):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise FilterInvalid(f"{field} takes an id, a whole number (got {value!r})") from None


def _tag_condition(value):
    """Contacts carrying the tag: ``,vip,`` inside ``,<tags>,`` (case-insensitive)."""
    tag = str(value or "").strip().lower()
    if not tag or "," in tag:
        raise FilterInvalid("give one tag, e.g. vip")
    padded = func.lower(func.replace("," + func.coalesce(Contact.tags, "") + ",", " ", ""))
    return padded.contains(f",{tag},")


def _campaign_condition(field, value):
    try:
        campaign_id = int(value)
    except (TypeError, ValueError):
        raise FilterInvalid(f"{field} needs a campaign id") from None
    sent = and_(Message.contact_id == Contact.id, Message.campaign_id == campaign_id)
    if field == "received_campaign":
        return exists().where(sent)
    opened = exists().where(sent, Message.open_count > 0)
    return opened if field == "opened_campaign" else ~opened


def audience_query(filters):
    """Contacts matching every filter (with an e-mail address), as a select of Contact."""
    query = db.select(Contact).outerjoin(Organisation, Contact.organisation_id == Organisation.id)
    query = query.where(Contact.email != "", Contact.archived_at.is_(None))
    for rule in filters or []:
        query = query.where(condition(rule))
    return query


def audience_count(filters):
    query = audience_query(filters).with_only_columns(func.count(Contact.id))
    return db.session.scalar(query.order_by(None))

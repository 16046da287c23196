"""Audiences: a segment's filters turned into a query over contacts and organisations.

Only the fields listed here can be filtered on, with a fixed set of
operators, so filters are data, never SQL.
"""

from flask_babel import gettext as _
from sqlalchemy import Integer, and_, exists, func, or_

from designer.campaigns import audience_values as values
from designer.extensions import db
from designer.i18n import _l
from designer.mail.models import Message
from designer.records.models import Contact, Organisation

FIELDS = {
    "contact.id": Contact.id,
    "contact.language": Contact.language,
    "contact.title": Contact.title,
    "contact.email": Contact.email,
    "organisation.industry": Organisation.industry,
    "organisation.language": Organisation.language,
    "organisation.country": Organisation.country,
    "organisation.city": Organisation.city,
    "organisation.owner_id": Organisation.owner_id,
    "organisation.name": Organisation.name,
    "organisation.id": Organisation.id,
}
#: What the audience builder calls each field.
LABELS = {
    "contact.id": _l("Contact: id"),
    "contact.language": _l("Contact: language"),
    "contact.title": _l("Contact: job title"),
    "contact.email": _l("Contact: e-mail address"),
    "organisation.industry": _l("Organisation: industry"),
    "organisation.language": _l("Organisation: language"),
    "organisation.country": _l("Organisation: country"),
    "organisation.city": _l("Organisation: city"),
    "organisation.owner_id": _l("Organisation: owner"),
    "organisation.name": _l("Organisation: name"),
    "organisation.id": _l("Organisation: id"),
    "contact.tags": _l("Contact: tags"),
    "opened_campaign": _l("Opened the campaign"),
    "not_opened_campaign": _l("Did not open the campaign"),
    "received_campaign": _l("Received the campaign"),
}
OPERATORS = ("eq", "ne", "in", "contains", "has_tag")
#: What the audience builder calls each operator.
OPERATOR_LABELS = {
    "eq": _l("is"),
    "ne": _l("is not"),
    "in": _l("is one of (a,b,c)"),
    "contains": _l("contains"),
    "has_tag": _l("has the tag"),
}
SPECIAL = ("contact.tags", "opened_campaign", "not_opened_campaign", "received_campaign")
#: The most values one "in" rule may list (a list send of ticked records sends their ids).
MAX_IN = 1000
#: The largest id a record can have (the columns are 32-bit integers).
MAX_ID = 2**31 - 1
#: The text columns a search looks in (the contact and organisation lists' search box): a
#: contact's name and address and its organisation's name; an organisation's name,
#: address and city.
SEARCHED = {
    "contact.search": (Contact.first_name, Contact.last_name, Contact.email, Organisation.name),
    "organisation.search": (Organisation.name, Organisation.email, Organisation.city),
}


class FilterInvalid(ValueError):
    """A filter names an unknown field or operator."""


def condition(rule):
    """One filter rule as a SQL condition; ``FilterInvalid`` says what is wrong."""
    try:
        return _condition(rule)
    except values.ValueInvalid as exc:
        raise FilterInvalid(str(exc)) from None


def _condition(rule):
    field, op, value = rule.get("field"), rule.get("op", "eq"), rule.get("value")
    if field == "contact.tags":
        return _tag_condition(value)
    if field in SEARCHED:
        return _search_condition(field, value)
    if field in SPECIAL:
        return _campaign_condition(field, value)
    column = FIELDS.get(field)
    if column is None:
        raise FilterInvalid(
            _(
                "cannot filter on %(field)s; choose one of %(fields)s",
                field=repr(field),
                fields=", ".join(FIELDS),
            )
        )
    if op == "eq":
        return column == _typed(field, column, value)
    if op == "ne":
        return or_(column != _typed(field, column, value), column.is_(None))
    if op == "in":
        items = value if isinstance(value, list) else str(value).split(",")
        if len(items) > MAX_IN:
            raise FilterInvalid(
                _(
                    "%(field)s can list at most %(max)s values (got %(count)s)",
                    field=field,
                    max=MAX_IN,
                    count=len(items),
                )
            )
        return column.in_([_typed(field, column, item) for item in items])
    if op == "contains" and not isinstance(column.type, Integer):
        return func.lower(column).contains(str(value).lower())
    raise FilterInvalid(
        _(
            "%(field)s cannot use the operator %(op)s; choose one of %(ops)s",
            field=field,
            op=repr(op),
            ops=", ".join(o for o in OPERATORS if o != "has_tag"),
        )
    )


def _typed(field, column, value):
    """``value`` as the column compares it: ids are whole numbers (an owner may be named by
    name or e-mail address); languages are codes and countries names, either given as a
    marketer writes them ("Dutch", "NL", "Nederland")."""
    if field in values.LANGUAGE_FIELDS:
        return values.language_code(value)
    if field in values.COUNTRY_FIELDS:
        return values.country_name(value)
    if field in values.USER_FIELDS and not str(value).strip().isdigit():
        return values.user_id(field, value)
    if not isinstance(column.type, Integer):
        return value
    try:
        number = int(str(value).strip())
    except ValueError:
        raise FilterInvalid(
            _(
                "%(field)s takes an id, a whole number (got %(value)s)",
                field=field,
                value=repr(value),
            )
        ) from None
    if not 0 <= number <= MAX_ID:
        raise FilterInvalid(
            _(
                "%(field)s takes an id, a whole number up to %(max)s (got %(number)s)",
                field=field,
                max=MAX_ID,
                number=number,
            )
        )
    return number


def _tag_condition(value):
    """Contacts carrying the tag: ``,vip,`` inside ``,<tags>,`` (case-insensitive)."""
    tag = str(value or "").strip().lower()
    if not tag or "," in tag:
        raise FilterInvalid(_("give one tag, e.g. vip"))
    padded = func.lower(func.replace("," + func.coalesce(Contact.tags, "") + ",", " ", ""))
    return padded.contains(f",{tag},")


def _search_condition(field, value):
    """Any of the searched columns contains ``value`` (case-insensitive)."""
    text = str(value or "").strip().lower()
    if not text:
        raise FilterInvalid(_("give the text to search for"))
    return or_(*(func.lower(func.coalesce(c, "")).contains(text) for c in SEARCHED[field]))


def _campaign_condition(field, value):
    campaign_id = values.campaign_id(field, value)
    sent = and_(Message.contact_id == Contact.id, Message.campaign_id == campaign_id)
    if field == "received_campaign":
        return exists().where(sent)
    opened = exists().where(sent, Message.open_count > 0)
    return opened if field == "opened_campaign" else ~opened


def audience_query(filters, module="contact", with_address_only=True):
    """Records of ``module`` matching every filter, as a select of Contact (or Organisation,
    whose own address gets the mail); only those with an e-mail address unless
    ``with_address_only`` is False (a list send names the others)."""
    if module == "organisation":
        query = db.select(Organisation).where(Organisation.archived_at.is_(None))
        address = Organisation.email
    else:
        query = db.select(Contact).outerjoin(
            Organisation, Contact.organisation_id == Organisation.id
        )
        query = query.where(Contact.archived_at.is_(None))
        address = Contact.email
    if with_address_only:
        query = query.where(address != "")
    for rule in filters or []:
        if module == "organisation" and str(rule.get("field", "")).startswith("contact."):
            raise FilterInvalid(
                _("an audience of organisations cannot filter on %(field)s", field=rule["field"])
            )
        query = query.where(condition(rule))
    return query


def audience_count(filters, module="contact", with_address_only=True):
    model = Organisation if module == "organisation" else Contact
    query = audience_query(filters, module, with_address_only)
    query = query.with_only_columns(func.count(model.id))
    return db.session.scalar(query.order_by(None))

"""Merge data: what a template may read about a record, as plain dicts.

Templates never receive ORM objects (which would lead to the session, the
query API and password hashes); each record is flattened to the fields listed
here, with its relations nested as dicts.
"""

from designer.records.signatures import signature_value

USER_FIELDS = ("name", "email", "title", "phone", "language", "timezone", "currency")
ORGANISATION_FIELDS = (
    "name",
    "industry",
    "email",
    "phone",
    "website",
    "street",
    "postal_code",
    "city",
    "country",
    "language",
    "timezone",
)
CONTACT_FIELDS = (
    "salutation",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "title",
    "language",
    "timezone",
    "birthday",
    "tags",
)
PRODUCT_FIELDS = ("sku", "name", "description", "unit_price", "tax_rate")
DOCUMENT_FIELDS = (
    "kind",
    "number",
    "subject",
    "status",
    "issue_date",
    "due_date",
    "currency",
    "notes",
    "subtotal",
    "tax_total",
    "total",
)
LINE_FIELDS = (
    "position",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_rate",
    "net",
    "tax",
)


def _pick(obj, fields):
    return {name: getattr(obj, name) for name in fields}


def user_data(user):
    """A user as merge data (never the password hash or role)."""
    return _pick(user, USER_FIELDS) if user else {}


def sender_data(user):
    """The sending user as merge data: ``user_data`` and the signature (HTML where HTML
    is written, text in the text part); every field empty for the system (``None``)."""
    data = user_data(user) if user else dict.fromkeys(USER_FIELDS, "")
    data["signature"] = signature_value(user)
    return data


def organisation_data(org):
    """An organisation with its owner and custom fields."""
    if org is None:
        return {}
    data = _pick(org, ORGANISATION_FIELDS)
    data["owner"] = user_data(org.owner)
    data.update(org.custom or {})
    return data


def contact_data(contact):
    """A contact with its organisation and custom fields."""
    if contact is None:
        return {}
    data = _pick(contact, CONTACT_FIELDS)
    data["organisation"] = organisation_data(contact.organisation)
    data.update(contact.custom or {})
    return data


def document_data(document):
    """A quote or invoice with its lines, organisation, contact and owner."""
    data = _pick(document, DOCUMENT_FIELDS)
    data["lines"] = [_line_data(line) for line in document.lines]
    data["organisation"] = organisation_data(document.organisation)
    data["contact"] = contact_data(document.contact)
    data["owner"] = user_data(document.owner)
    return data


def _line_data(line):
    data = _pick(line, LINE_FIELDS)
    data["product"] = _pick(line.product, PRODUCT_FIELDS) if line.product else {}
    data["name"] = data["product"].get("name", "") or line.description
    # Before discount, and the discount itself, as invoice layouts print them.
    data["gross"] = line.quantity * line.unit_price
    data["discount"] = data["gross"] - line.net
    return data


def merge_data(module, record):
    """Top-level names a template sees for a record of ``module``."""
    if module == "contact":
        contact = contact_data(record)
        return {"contact": contact, "organisation": contact["organisation"]}
    if module == "organisation":
        return {"organisation": organisation_data(record)}
    if module == "user":
        return {"user": user_data(record)}
    if module == "product":
        return {"product": _pick(record, PRODUCT_FIELDS)}
    document = document_data(record)
    return {
        "document": document,
        module: document,
        "contact": document["contact"],
        "organisation": document["organisation"],
    }

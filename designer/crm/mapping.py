"""vtiger's records as Designer records: the standard fields by default, custom fields as chosen.

Each function takes one record as vtiger's webservice answers it (``sync``,
``retrieve``, ``query``) and returns the record as ``records.upsert`` takes
it. Values are cut to the lengths Designer keeps, so a long vtiger value
never stops a sync. ``emailoptout`` is not a record field here: the sync puts
such addresses on the suppression list.
"""

from dataclasses import dataclass, field

from babel import Locale

from designer.records.upsert import TEXT

#: Our module for each vtiger module read in.
MODULES = {
    "Accounts": "organisation",
    "Contacts": "contact",
    "Products": "product",
    "Quotes": "quote",
    "Invoice": "invoice",
}
#: vtiger modules whose custom fields can feed Designer custom fields.
CUSTOM_FIELD_MODULES = ("Accounts", "Contacts")
NONE_VALUES = ("", "--None--", None)
ENGLISH = Locale("en")


@dataclass
class Context:
    """What mapping needs beyond the record: owners, currencies, the custom field choices."""

    owners: dict = field(default_factory=dict)  # vtiger user id -> e-mail
    currencies: dict = field(default_factory=dict)  # vtiger currency number -> ISO code
    custom: dict = field(default_factory=dict)  # vtiger module -> {cf_…: our field}


def text(value, name):
    """``value`` as a stripped string, cut to the length Designer keeps for ``name``."""
    if value in NONE_VALUES:
        return ""
    return str(value).strip()[: TEXT.get(name, 200)]


def country(value):
    """vtiger's country (an ISO code in vtiger 7.5+/Defalto, a name before) as a name."""
    value = text(value, "country")
    return ENGLISH.territories.get(value.upper(), value) if len(value) == 2 else value


def reference(value):
    """A related record's webservice id, or "" (none, ``0``, or a bare number)."""
    value = str(value or "").strip()
    return value if "x" in value and not value.endswith("x0") else ""


def number(value):
    """The number part of an id such as ``21x1`` (or the bare ``1`` sync answers)."""
    return str(value or "").rpartition("x")[2]


def owner(record, context):
    return context.owners.get(str(record.get("assigned_user_id") or ""), "")


def opted_out(record):
    return str(record.get("emailoptout") or "0") in ("1", "on", "true")


def custom_values(module, record, context):
    chosen = context.custom.get(module, {})
    return {ours: text(record.get(theirs), "custom") for theirs, ours in chosen.items()}


def organisation(record, context):
    return {
        **custom_values("Accounts", record, context),
        "id": record["id"],
        "name": text(record.get("accountname"), "name") or record["id"],
        "email": email(record.get("email1")) or email(record.get("email2")),
        "phone": text(record.get("phone"), "phone"),
        "website": text(record.get("website"), "website"),
        "street": text(record.get("bill_street"), "street"),
        "postal_code": text(record.get("bill_code"), "postal_code"),
        "city": text(record.get("bill_city"), "city"),
        "country": country(record.get("bill_country_id") or record.get("bill_country")),
        "owner": owner(record, context),
    }


def contact(record, context):
    return {
        **custom_values("Contacts", record, context),
        "id": record["id"],
        "salutation": text(record.get("salutationtype"), "salutation"),
        "first_name": text(record.get("firstname"), "first_name"),
        "last_name": text(record.get("lastname"), "last_name"),
        "email": email(record.get("email")) or email(record.get("secondaryemail")),
        "phone": text(record.get("phone") or record.get("mobile"), "phone"),
        "title": text(record.get("title"), "title"),
        "birthday": text(record.get("birthday"), "birthday")[:10] or None,
        "organisation": reference(record.get("account_id")),
    }


def product(record, context):
    taxes = [record.get(f"tax{n}") for n in (1, 2, 3)]
    rate = next((t for t in taxes if t not in NONE_VALUES), None)
    data = {
        "id": record["id"],
        "sku": text(record.get("product_no"), "sku")[:64],
        "name": text(record.get("productname"), "name") or record["id"],
        "description": text(record.get("description"), "description"),
        "unit_price": record.get("unit_price") or "0",
    }
    if rate is not None:
        data["tax_rate"] = rate
    return data


def document(kind, record, lines, products, context):
    """A quote or invoice; ``lines`` its ``InventoryItem`` rows, ``products`` id → SKU."""
    prefix = "invoice" if kind == "invoice" else "quote"
    issued = record.get(f"{prefix}date") or str(record.get("createdtime") or "")[:10]
    due = record.get("duedate" if kind == "invoice" else "validtill")
    data = {
        "id": record["id"],
        "number": text(record.get(f"{prefix}_no"), "number") or record["id"],
        "subject": text(record.get("subject"), "subject"),
        "status": text(
            record.get("invoicestatus" if kind == "invoice" else "quotestage"), "status"
        ),
        "issue_date": issued[:10] or None,
        "due_date": str(due)[:10] if due not in NONE_VALUES else None,
        "notes": text(record.get("terms_conditions"), "notes"),
        "organisation": reference(record.get("account_id")),
        "contact": reference(record.get("contact_id")),
        "owner": owner(record, context),
        "lines": [line(item, products) for item in sorted(lines, key=_sequence)],
    }
    code = context.currencies.get(number(record.get("currency_id")))
    if code:
        data["currency"] = code
    return data


def line(item, products):
    """One ``InventoryItem`` row as a document line (a discount in money as a percentage)."""
    quantity = _float(item.get("quantity"), 1.0)
    price = _float(item.get("price"), 0.0)
    discount = _float(item.get("discount"), 0.0)
    if str(item.get("discount_type") or "").lower() not in ("percentage", "percent", "%", ""):
        gross = quantity * price
        discount = (_float(item.get("discount_amount"), 0.0) / gross * 100) if gross else 0.0
    described = " — ".join(
        t
        for t in (
            text(item.get("item_text"), "description"),
            text(item.get("description"), "description"),
        )
        if t
    )
    return {
        "product": products.get(reference(item.get("productid")), ""),
        "description": described[: TEXT["description"]],
        "quantity": str(quantity),
        "unit_price": str(price),
        "discount_percent": f"{max(0.0, min(discount, 100.0)):.2f}",
        "tax_rate": str(_float(item.get("tax"), 0.0)),
    }


def email(value):
    value = text(value, "email").lower()
    return value if value.count("@") == 1 and not any(c.isspace() for c in value) else ""


def _float(value, default):
    try:
        return float(value) if value not in NONE_VALUES else default
    except (TypeError, ValueError):
        return default


def _sequence(item):
    return _float(item.get("sequence"), 0.0)

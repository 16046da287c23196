"""Record upsert: a CRM's view of a record (a JSON object) written into our store.

Records are matched by ``id``, the CRM's own id (our ``external_id``). Fields
not given are left as they are; related records (``organisation``,
``contact``) are named by their CRM id or given as nested objects (upserted
first); ``owner`` is a user's e-mail; document ``lines``, when given,
replace the document's lines. Each bad value raises ``InvalidRecord`` naming
its field, before anything is written. What changed is returned as
``{field: {"from": old, "to": new}}``, the way events carry it.
"""

import contextvars
import re
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from designer.clock import utcnow
from designer.extensions import db
from designer.records.models import (
    Contact,
    Document,
    DocumentLine,
    Organisation,
    Product,
    User,
)

UPSERT_MODULES = ("organisation", "contact", "quote", "invoice")
TEXT = {
    "name": 200,
    "industry": 100,
    "email": 320,
    "phone": 50,
    "website": 300,
    "street": 200,
    "postal_code": 20,
    "city": 100,
    "country": 100,
    "salutation": 20,
    "first_name": 100,
    "last_name": 100,
    "title": 100,
    "tags": 500,
    "number": 50,
    "subject": 200,
    "status": 30,
    "notes": 20000,
    "description": 5000,
}
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
    "email",
    "phone",
    "title",
    "language",
    "timezone",
    "birthday",
    "tags",
)
#: Not record fields: the CRM's opt-out goes on mail's suppression list (the workflows'
#: intake hands it there), never into a record's custom fields.
CONSENT_FIELDS = ("email_opt_out",)
DOCUMENT_FIELDS = ("number", "subject", "status", "issue_date", "due_date", "currency", "notes")
CUSTOM_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
EXTERNAL_ID = 100


class InvalidRecord(ValueError):
    """A record's field has a value we cannot store; ``field`` names it."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field


def upsert_record(module, data):
    """Create or update the record ``data`` describes; ``(record, created, changes)``.

    Nothing is committed: the caller commits with whatever else it writes.
    """
    if module not in UPSERT_MODULES:
        raise InvalidRecord("module", f"must be one of {', '.join(UPSERT_MODULES)}")
    if not isinstance(data, dict):
        raise InvalidRecord("record", "must be a JSON object")
    with db.session.no_autoflush:
        record, created, changes = UPSERTS[module](module, data)
    _remember(record)
    if record.archived_at is not None:  # the CRM sends it again: it exists again (restored)
        record.archived_at = None
        changes["archived"] = {"from": True, "to": False}
    return record, created, changes


def archive_record(module, data):
    """Archive the record ``data`` names by its CRM ``id`` (the CRM deleted it): it leaves
    lists and audiences, its messages stay. ``(record, changes)``; nothing is committed."""
    if module not in (*UPSERT_MODULES, "product"):
        raise InvalidRecord("module", f"must be one of {', '.join(UPSERT_MODULES)} or product")
    if not isinstance(data, dict):
        raise InvalidRecord("record", "must be a JSON object")
    external_id = _external_id(data)
    model = Product if module == "product" else MODELS[module]
    record = _find(model, external_id)
    if record is None or (model is Document and record.kind != module):
        raise InvalidRecord("id", f"no {module} with id {external_id!r}: nothing to delete")
    if record.archived_at is not None:
        return record, {}
    record.archived_at = utcnow()
    return record, {"archived": {"from": False, "to": True}}


PRODUCT_FIELDS = ("name", "description")


def upsert_product(data):
    """Create or update a product by its CRM ``id``; ``(product, created, changes)``.

    A new product takes ``sku`` (the CRM's product number), or the CRM id when
    another product has that SKU already. Nothing is committed.
    """
    if not isinstance(data, dict):
        raise InvalidRecord("record", "must be a JSON object")
    external_id = _external_id(data)
    with db.session.no_autoflush:
        product = _find(Product, external_id)
        created = product is None
        if created:
            name = str(data.get("name") or "").strip()
            if not name:
                raise InvalidRecord("name", "a new product needs a name")
            product = Product(external_id=external_id, sku=_free_sku(data, external_id))
        changes = {}
        _assign(product, data, PRODUCT_FIELDS, changes)
        for name in ("unit_price", "tax_rate"):
            if name in data:
                value = _decimal(name, data[name], getattr(product, name) or Decimal(0))
                if product.id is None or Decimal(getattr(product, name)) != value:
                    changes[name] = {"from": _plain(getattr(product, name)), "to": str(value)}
                    setattr(product, name, value)
        if product.archived_at is not None:
            product.archived_at = None
            changes["archived"] = {"from": True, "to": False}
        db.session.add(product)
    _remember(product)
    return product, created, changes


def _free_sku(data, external_id):
    sku = _short_string("sku", data.get("sku"), 64, "PRO1") or external_id
    taken = db.session.scalar(db.select(Product.id).where(Product.sku == sku))
    return external_id if taken is not None else sku


def _external_id(data, field="id"):
    value = data.get(field)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecord(field, "the CRM's id of the record is required (a string)")
    if len(value) > EXTERNAL_ID:
        raise InvalidRecord(field, f"at most {EXTERNAL_ID} characters")
    return value.strip()


def _find(model, external_id, **extra):
    cache = _PRELOADED.get()
    if cache is not None and not extra and (model, external_id) in cache:
        return cache[(model, external_id)]
    query = db.select(model).where(model.external_id == external_id)
    for name, value in extra.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def _assign(record, data, fields, changes, prefix=""):
    for name in fields:
        if name not in data:
            continue
        value = clean_value(name, data[name], prefix)
        old = getattr(record, name)
        if old != value:
            changes[name] = {"from": _plain(old), "to": _plain(value)}
            setattr(record, name, value)


def clean_value(name, value, prefix=""):
    """``value`` checked and converted for field ``name``; ``InvalidRecord`` if bad."""
    field = prefix + name
    if name in ("issue_date", "due_date", "birthday"):
        return _date(field, value)
    if name == "language":
        return _language(field, value)
    if name == "timezone":
        return _timezone(field, value)
    if name == "currency":
        return _currency(field, value)
    return _text(field, name, value)


def _text(field, name, value):
    if value is None:
        value = ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidRecord(field, "must be a string")
    value = value.strip()
    if len(value) > TEXT.get(name, 200):
        raise InvalidRecord(field, f"at most {TEXT.get(name, 200)} characters")
    if name == "email" and value and (value.count("@") != 1 or any(c.isspace() for c in value)):
        raise InvalidRecord(field, f"not an e-mail address: {value!r}")
    return value.lower() if name == "email" else value


def _short_string(field, value, limit, example):
    """A string field of at most ``limit`` characters (``None`` is empty), stripped."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRecord(field, f"must be a string such as {example!r}")
    value = value.strip()
    if len(value) > limit:
        raise InvalidRecord(field, f"at most {limit} characters (e.g. {example!r})")
    return value


def _date(field, value):
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidRecord(field, "must be a date as a string (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise InvalidRecord(field, f"not a date (YYYY-MM-DD): {value[:40]!r}") from None


def _language(field, value):
    value = _short_string(field, value, 10, "nl").replace("-", "_")
    if not value:
        return ""
    try:
        Locale.parse(value)
    except (ValueError, UnknownLocaleError):
        raise InvalidRecord(field, f"unknown language {value!r} (use e.g. nl, en, de_CH)") from None
    return value


#: Longest IANA time zone name ("America/Argentina/ComodRivadavia" is 32).
TIMEZONE_LENGTH = 64
TIMEZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")


def _timezone(field, value):
    value = _short_string(field, value, TIMEZONE_LENGTH, "Europe/Amsterdam")
    if not value:
        return ""
    try:
        if not TIMEZONE_NAME.fullmatch(value):
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidRecord(field, f"unknown time zone {value!r} (e.g. Europe/Amsterdam)") from None
    return value


def _currency(field, value):
    value = _short_string(field, value, 3, "EUR").upper()
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise InvalidRecord(field, f"a currency is a 3-letter ISO code such as EUR (got {value!r})")
    return value


def _decimal(field, value, default):
    if value in (None, ""):
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidRecord(field, "must be a number")
    if isinstance(value, str) and len(value) > 40:
        raise InvalidRecord(field, f"not a number: {value[:40]!r}…")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidRecord(field, f"not a number: {value!r}") from None
    if not number.is_finite() or abs(number) >= Decimal("1e9"):
        raise InvalidRecord(field, f"out of range: {value!r}")
    return number


def _plain(value):
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def _owner(data, changes, record, prefix=""):
    if "owner" not in data:
        return
    email = _short_string(prefix + "owner", data["owner"], 320, "ann@example.com")
    owner = None
    if email:
        owner = _user_by_email(email.lower())
        if owner is None:
            raise InvalidRecord(prefix + "owner", f"no user with e-mail {email!r}")
    if record.owner_id != (owner.id if owner else None):
        changes["owner"] = {
            "from": record.owner.email if record.owner else None,
            "to": owner.email if owner else None,
        }
        record.owner = owner


def _custom(record, data, known, changes, model=None):
    custom = dict(record.custom or {})
    model = model or type(record)
    for name, value in data.items():
        if name in known or not CUSTOM_NAME.fullmatch(name) or hasattr(model, name):
            continue
        if isinstance(value, dict | list):
            continue
        if custom.get(name) != value:
            changes[name] = {"from": custom.get(name), "to": value}
            custom[name] = value
    record.custom = custom


def _related(model_module, value, field):
    """A related record named by CRM id, or given as an object (upserted)."""
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        try:
            related = UPSERTS[model_module](model_module, value)[0]
        except InvalidRecord as exc:
            raise InvalidRecord(f"{field}.{exc.field}", str(exc).split(": ", 1)[1]) from None
        db.session.flush()  # so that later fields can name it by its CRM id
        return related
    external_id = _external_id({"id": value}, "id")
    found = _find(Organisation if model_module == "organisation" else Contact, external_id)
    if found is None:
        raise InvalidRecord(
            field,
            f"no {model_module} with id {external_id!r}; send it first or give it as an object",
        )
    return found


def _upsert_organisation(module, data):
    external_id = _external_id(data)
    org = _find(Organisation, external_id)
    created = org is None
    if created:
        if not str(data.get("name") or "").strip():
            raise InvalidRecord("name", "a new organisation needs a name")
        org = Organisation(external_id=external_id, name="", custom={})
    changes = {}
    _assign(org, data, ORGANISATION_FIELDS, changes)
    _owner(data, changes, org)
    _custom(org, data, {"id", "owner", *ORGANISATION_FIELDS, *CONSENT_FIELDS}, changes)
    db.session.add(org)
    return org, created, changes


def _upsert_contact(module, data):
    external_id = _external_id(data)
    contact = _find(Contact, external_id)
    created = contact is None
    if created:
        contact = Contact(external_id=external_id, custom={})
    changes = {}
    _assign(contact, data, CONTACT_FIELDS, changes)
    if "organisation" in data:
        org = _related("organisation", data["organisation"], "organisation")
        if contact.organisation is not org:
            changes["organisation"] = {
                "from": contact.organisation.external_id if contact.organisation else None,
                "to": org.external_id if org else None,
            }
            contact.organisation = org
    _custom(contact, data, {"id", "organisation", *CONTACT_FIELDS, *CONSENT_FIELDS}, changes)
    db.session.add(contact)
    return contact, created, changes


def _upsert_document(module, data):
    external_id = _external_id(data)
    document = _find(Document, external_id)
    if document is not None and document.kind != module:
        raise InvalidRecord("id", f"{external_id!r} is a {document.kind}, not a {module}")
    created = document is None
    if created:
        if not str(data.get("number") or "").strip():
            raise InvalidRecord("number", f"a new {module} needs a number")
        document = Document(external_id=external_id, kind=module, issue_date=date.today())
    changes = {}
    _assign(document, data, DOCUMENT_FIELDS, changes)
    if document.issue_date is None:
        raise InvalidRecord("issue_date", "a document needs an issue date")
    for name, module_name in (("organisation", "organisation"), ("contact", "contact")):
        if name in data:
            related = _related(module_name, data[name], name)
            if getattr(document, name) is not related:
                changes[name] = {"from": _ref(getattr(document, name)), "to": _ref(related)}
                setattr(document, name, related)
    _owner(data, changes, document)
    if "lines" in data:
        _replace_lines(document, data["lines"], changes)
    db.session.add(document)
    return document, created, changes


def _ref(record):
    return record.external_id if record is not None else None


def _replace_lines(document, lines, changes):
    if not isinstance(lines, list):
        raise InvalidRecord("lines", "must be a list of line objects")
    new = [_line(index, line) for index, line in enumerate(lines)]
    old = [_line_summary(line) for line in document.lines]
    document.lines = new
    if old != [_line_summary(line) for line in new]:
        changes["lines"] = {"from": len(old), "to": len(new)}


def _line(index, data):
    prefix = f"lines[{index}]."
    if not isinstance(data, dict):
        raise InvalidRecord(f"lines[{index}]", "must be an object")
    product = None
    if data.get("product"):
        product = db.session.scalar(db.select(Product).where(Product.sku == str(data["product"])))
        if product is None:
            raise InvalidRecord(prefix + "product", f"no product with SKU {data['product']!r}")
    price_default = product.unit_price if product else Decimal(0)
    tax_default = product.tax_rate if product else Decimal(0)
    return DocumentLine(
        position=index + 1,
        product=product,
        description=_text(prefix + "description", "description", data.get("description")),
        quantity=_decimal(prefix + "quantity", data.get("quantity"), Decimal(1)),
        unit_price=_decimal(prefix + "unit_price", data.get("unit_price"), price_default),
        discount_percent=_decimal(
            prefix + "discount_percent", data.get("discount_percent"), Decimal(0)
        ),
        tax_rate=_decimal(prefix + "tax_rate", data.get("tax_rate"), tax_default),
    )


def _line_summary(line):
    return (
        line.product.sku if line.product else None,
        line.description,
        Decimal(line.quantity),
        Decimal(line.unit_price),
        Decimal(line.discount_percent),
        Decimal(line.tax_rate),
    )


MODELS = {"organisation": Organisation, "contact": Contact, "quote": Document, "invoice": Document}
UPSERTS = {
    "organisation": _upsert_organisation,
    "contact": _upsert_contact,
    "quote": _upsert_document,
    "invoice": _upsert_document,
}


# -- a CRM's first import: new records in one INSERT -----------------------------

#: What ``create_many`` writes with one INSERT instead of one ORM object each.
BULK_MODULES = ("organisation", "contact")


def create_many(module, records):
    """Create, with one INSERT, the ``records`` of ``module`` (organisations or contacts,
    as ``upsert_record`` takes them) that are not held yet: a CRM's first import, inside
    ``preloaded``. Each is checked as ``upsert_record`` checks it.

    Returns ``(created, refused, rest)``: the CRM ids created, ``{CRM id: InvalidRecord}``,
    and the records left for ``upsert_record`` (held already, named twice in
    ``records``, or without a usable id), in their order. Nothing is committed.
    """
    model, cache = MODELS[module], _PRELOADED.get()
    rows, created, refused, rest, seen = [], [], {}, [], set()
    for data in records:
        external_id = _bulk_id(data)
        if external_id is None or external_id in seen or cache.get((model, external_id)):
            rest.append(data)
            continue
        seen.add(external_id)
        try:
            with db.session.no_autoflush:
                rows.append(NEW_ROWS[module](external_id, data))
        except InvalidRecord as exc:
            refused[external_id] = exc
            continue
        created.append(external_id)
    if rows:
        db.session.execute(db.insert(model), rows)
        _preload(cache, model, [_bulk_id(data) for data in rest])  # named twice: now held
    return created, refused, rest


def _bulk_id(data):
    if not isinstance(data, dict):
        return None
    try:
        return _external_id(data)
    except InvalidRecord:
        return None


class _NewRecord:
    """The fields of a record not written yet, as ``_assign``, ``_owner`` and ``_custom``
    read and set them on a model object."""

    def __init__(self, fields):
        self.__dict__.update(dict.fromkeys(fields), custom={}, owner=None, owner_id=None)


def _new_organisation_row(external_id, data):
    if not str(data.get("name") or "").strip():
        raise InvalidRecord("name", "a new organisation needs a name")
    new, changes = _NewRecord(ORGANISATION_FIELDS), {}
    _assign(new, data, ORGANISATION_FIELDS, changes)
    _owner(data, changes, new)
    known = {"id", "owner", *ORGANISATION_FIELDS, *CONSENT_FIELDS}
    _custom(new, data, known, changes, model=Organisation)
    return _row(new, ORGANISATION_FIELDS, external_id, owner_id=new.owner and new.owner.id)


def _new_contact_row(external_id, data):
    new, changes = _NewRecord(CONTACT_FIELDS), {}
    _assign(new, data, CONTACT_FIELDS, changes)
    org = _related("organisation", data.get("organisation"), "organisation")
    _custom(new, data, {"id", "organisation", *CONTACT_FIELDS, *CONSENT_FIELDS}, changes, Contact)
    return _row(new, CONTACT_FIELDS, external_id, organisation_id=org and org.id)


def _row(new, fields, external_id, **links):
    """The INSERT's row: what was given (the columns' defaults for the rest)."""
    row = {name: getattr(new, name) for name in fields if getattr(new, name) is not None}
    return {**row, **links, "external_id": external_id, "custom": new.custom}


NEW_ROWS = {"organisation": _new_organisation_row, "contact": _new_contact_row}


def owner_user(email, name):
    """The user with ``email``, made when missing as an owner only: no password, disabled,
    so nobody can log in as it until an administrator invites it. ``None`` without e-mail."""
    email = str(email or "").strip().lower()
    if not email or len(email) > 320 or email.count("@") != 1:
        return None
    user = db.session.scalar(db.select(User).where(User.email == email))
    if user is None:
        name = str(name or "").strip()[:200] or email
        user = User(email=email, name=name, role="marketer", disabled_at=utcnow())
        db.session.add(user)
        db.session.flush()
    return user


def held_external_ids(module, external_ids, live=False):
    """Which of ``external_ids`` we hold for ``module`` (``live``: and not archived)."""
    model = Product if module == "product" else MODELS[module]
    wanted = [i for i in dict.fromkeys(external_ids) if i]
    held = set()
    for start in range(0, len(wanted), 500):
        query = db.select(model.external_id).where(
            model.external_id.in_(wanted[start : start + 500])
        )
        if live:
            query = query.where(model.archived_at.is_(None))
        held.update(db.session.scalars(query))
    return held


def live_external_ids(module, prefix):
    """The CRM ids starting with ``prefix`` of ``module``'s records not archived, in order."""
    model = Product if module == "product" else MODELS[module]
    query = db.select(model.external_id).where(
        model.external_id.startswith(prefix, autoescape=True), model.archived_at.is_(None)
    )
    if model is Document:
        query = query.where(Document.kind == module)
    return list(db.session.scalars(query.order_by(model.external_id)))


#: Inside ``preloaded``: ``{(model, CRM id or e-mail): record or None}`` the upserts look in.
_PRELOADED = contextvars.ContextVar("preloaded_records", default=None)


@contextmanager
def preloaded(module, records):
    """Upserts of these ``records`` (as ``upsert_record`` takes them) made inside find them,
    the organisations and contacts they name and their owners from a few queries, not one
    query each (a CRM's first import). Nothing else may write those records meanwhile."""
    with preloaded_many([(module, record) for record in records]):
        yield


@contextmanager
def preloaded_many(pairs):
    """``preloaded`` for records of several modules: ``pairs`` of ``(module, record)``
    (a batch of events)."""
    cache = {}
    by_model = {}
    for module, record in pairs:
        if not isinstance(record, dict):
            continue
        model = Product if module == "product" else MODELS[module]
        by_model.setdefault(model, []).append(record.get("id"))
        for name, related in (("organisation", Organisation), ("contact", Contact)):
            by_model.setdefault(related, []).append(record.get(name))
    for model, ids in by_model.items():
        _preload(cache, model, ids)
    emails = {
        str(r.get("owner") or "").strip().lower() for _, r in pairs if isinstance(r, dict)
    } - {""}
    for email in emails:
        cache[(User, email)] = None
    if emails:
        for user in db.session.scalars(db.select(User).where(User.email.in_(emails))):
            cache[(User, user.email)] = user
    token = _PRELOADED.set(cache)
    try:
        yield
    finally:
        _PRELOADED.reset(token)


def _preload(cache, model, ids):
    ids = list({i for i in ids if isinstance(i, str) and i})
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for external_id in chunk:
            cache[(model, external_id)] = None
        for record in db.session.scalars(db.select(model).where(model.external_id.in_(chunk))):
            cache[(model, record.external_id)] = record


def _remember(record):
    cache = _PRELOADED.get()
    if cache is not None and record.external_id:
        cache[(type(record), record.external_id)] = record


def _user_by_email(email):
    cache = _PRELOADED.get()
    if cache is not None and (User, email) in cache:
        return cache[(User, email)]
    return db.session.scalar(db.select(User).where(User.email == email))

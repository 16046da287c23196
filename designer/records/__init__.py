"""CRM records: the public API other parts use to find records and their recipients.

Modules are named as in the CLI: ``user``, ``organisation``, ``contact``,
``product``, ``quote`` and ``invoice``.
"""

import re
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from designer.extensions import db
from designer.records.merge import merge_data
from designer.records.models import Contact, Document, Organisation, Product, User

MODULES = ("user", "organisation", "contact", "product", "quote", "invoice")
MODELS = {
    "user": User,
    "organisation": Organisation,
    "contact": Contact,
    "product": Product,
    "quote": Document,
    "invoice": Document,
}

__all__ = [
    "MODULES",
    "Contact",
    "Document",
    "Organisation",
    "Product",
    "Recipient",
    "RecordNotFound",
    "User",
    "add_custom_field",
    "contact_counts",
    "documents_for_organisation",
    "get_record",
    "get_record_by_external_id",
    "list_organisations",
    "list_users",
    "merge_data",
    "parse_record_ref",
    "recipient_of",
]


class RecordNotFound(LookupError):
    """No record of that module has that id."""


@dataclass(frozen=True)
class Recipient:
    """Where a record's mail goes, and in which language."""

    email: str
    name: str
    language: str
    contact_id: int | None
    organisation_id: int | None


def parse_record_ref(ref):
    """Split ``contact:12`` into ``("contact", 12)``; ``ValueError`` when malformed."""
    module, sep, ident = (ref or "").partition(":")
    if not sep or module not in MODULES or not ident.isdigit():
        raise ValueError(
            f"record must look like MODULE:ID with MODULE one of {', '.join(MODULES)} (got {ref!r})"
        )
    return module, int(ident)


def get_record(module, record_id):
    """Return the record or raise ``RecordNotFound``."""
    model = MODELS.get(module)
    record = db.session.get(model, record_id) if model else None
    if record is None or (model is Document and record.kind != module):
        raise RecordNotFound(f"no {module} with id {record_id}")
    return record


def get_record_by_external_id(module, external_id):
    """The record the CRM knows by ``external_id``; ``RecordNotFound`` when there is none."""
    model = MODELS.get(module)
    record = None
    if model is not None and hasattr(model, "external_id"):
        query = db.select(model).where(model.external_id == external_id)
        if model is Document:
            query = query.where(Document.kind == module)
        record = db.session.scalar(query)
    if record is None:
        raise RecordNotFound(f"no {module} with CRM id {external_id!r}")
    return record


def recipient_of(module, record):
    """The person a record's mail goes to: the contact, the organisation, the user."""
    if module in ("quote", "invoice"):
        if record.contact is not None:
            return recipient_of("contact", record.contact)
        return recipient_of("organisation", record.organisation)
    if module == "contact":
        org = record.organisation
        return Recipient(
            record.email,
            record.full_name,
            record.language or (org.language if org else ""),
            record.id,
            org.id if org else None,
        )
    if module == "organisation":
        return Recipient(record.email, record.name, record.language, None, record.id)
    if module == "user":
        return Recipient(record.email, record.name, record.language, None, None)
    raise ValueError(f"a {module} has no e-mail address to send to")


def list_organisations():
    """All organisations by name, with their contact counts."""
    counts = db.select(Contact.organisation_id, db.func.count(Contact.id)).group_by(
        Contact.organisation_id
    )
    per_org = dict(db.session.execute(counts).all())
    live = db.select(Organisation).where(Organisation.archived_at.is_(None))
    orgs = db.session.scalars(live.order_by(Organisation.name)).all()
    return [(org, per_org.get(org.id, 0)) for org in orgs]


def contact_counts(organisation_ids):
    """``{organisation id: contacts}`` of the organisations ``organisation_ids``."""
    if not organisation_ids:
        return {}
    query = (
        db.select(Contact.organisation_id, db.func.count(Contact.id))
        .where(Contact.organisation_id.in_(organisation_ids), Contact.archived_at.is_(None))
        .group_by(Contact.organisation_id)
    )
    return dict(db.session.execute(query).all())


CUSTOM_FIELD_TYPES = ("string", "number", "date", "money")
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def add_custom_field(module, name, label, type="string", example=""):
    """Declare a custom field; its values live in the records' ``custom`` dicts."""
    from designer.records.models import CustomField

    if module not in ("organisation", "contact"):
        raise ValueError("custom fields exist for organisations and contacts")
    if not FIELD_NAME.fullmatch(name or ""):
        raise ValueError("a field name is lower-case letters, digits and _, starting with a letter")
    if type not in CUSTOM_FIELD_TYPES:
        raise ValueError(f"type must be one of {', '.join(CUSTOM_FIELD_TYPES)}")
    if hasattr(MODELS[module], name):
        raise ValueError(f"{module} already has a field called {name}")
    field = CustomField(module=module, name=name, label=label or name, type=type, example=example)
    db.session.add(field)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ValueError(f"{module} already has a custom field {name}") from exc
    return field


def list_users():
    return db.session.scalars(db.select(User).order_by(User.name)).all()


def documents_for_organisation(organisation_id):
    """The organisation's invoices and quotes, newest first."""
    query = (
        db.select(Document)
        .where(Document.organisation_id == organisation_id)
        .order_by(Document.issue_date.desc(), Document.id.desc())
    )
    return db.session.scalars(query).all()

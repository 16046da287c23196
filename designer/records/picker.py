"""The record picker: finding a contact, organisation or document by typing part of it.

Pages offer a text field instead of a list of every record. With the picker's script,
typing asks ``search_choices`` (through a JSON endpoint) and a choice fills in the record's
id; without it, the form sends the typed text and ``choose_record`` finds the one record
it names. Every word typed must appear in the record's name, e-mail address or
organisation (a document's number, subject or organisation; a product's name or SKU), in
any case.
"""

import re
from dataclasses import dataclass

from designer.extensions import db
from designer.records import RecordNotFound, get_record
from designer.records.models import Contact, Document, Organisation, Product, User

#: The modules a picker chooses from.
PICKER_MODULES = ("contact", "organisation", "quote", "invoice", "user", "product")
#: Characters of a query looked at; a longer one is refused by the endpoint.
MAX_QUERY = 200
#: Words of a query looked at (the rest are ignored).
MAX_WORDS = 8
#: Choices the endpoint returns at most.
MAX_RESULTS = 10
#: Characters around words that a label carries and the search ignores: "<a@b.example>".
PUNCTUATION = "<>()[]·,;\"'"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PickerError(LookupError):
    """The typed text names no record, or more than one (the message says which)."""


@dataclass(frozen=True)
class PickerChoice:
    """One record offered by the picker: its id, the label shown and put in the field, and a
    line of detail (organisation, language)."""

    id: int
    label: str
    detail: str

    def as_json(self):
        return {"id": self.id, "label": self.label, "detail": self.detail}


def words_of(query):
    """The words of a query, without the punctuation a label carries and control characters
    (no name holds a NUL, which PostgreSQL would refuse); at most ``MAX_WORDS``."""
    text = CONTROL.sub(" ", (query or "")[:MAX_QUERY])
    words = (word.strip(PUNCTUATION) for word in re.split(r"\s+", text))
    return [word for word in words if word][:MAX_WORDS]


def search_choices(module, query, limit=MAX_RESULTS):
    """The records of ``module`` every word of ``query`` matches, best known first."""
    if module not in PICKER_MODULES:
        raise PickerError(f"there is no picker for {module} records")
    words = words_of(query)
    if module == "contact":
        select = _contacts(words)
    elif module == "organisation":
        select = _organisations(words)
    elif module == "user":
        select = _users(words)
    elif module == "product":
        select = _products(words)
    else:
        select = _documents(module, words)
    return [choice_of(module, record) for record in db.session.scalars(select.limit(limit))]


def _matching(columns, words):
    """Every word in at least one of ``columns``."""
    return [
        db.or_(
            *(db.func.lower(column).contains(word.lower(), autoescape=True) for column in columns)
        )
        for word in words
    ]


def _contacts(words):
    columns = (Contact.first_name, Contact.last_name, Contact.email, Organisation.name)
    return (
        db.select(Contact)
        .outerjoin(Organisation, Contact.organisation_id == Organisation.id)
        .where(Contact.archived_at.is_(None), *_matching(columns, words))
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
    )


def _organisations(words):
    columns = (Organisation.name, Organisation.email, Organisation.city)
    return (
        db.select(Organisation)
        .where(Organisation.archived_at.is_(None), *_matching(columns, words))
        .order_by(Organisation.name, Organisation.id)
    )


def _users(words):
    columns = (User.name, User.email)
    return db.select(User).where(*_matching(columns, words)).order_by(User.name, User.id)


def _products(words):
    columns = (Product.name, Product.sku)
    return (
        db.select(Product)
        .where(Product.archived_at.is_(None), *_matching(columns, words))
        .order_by(Product.name, Product.id)
    )


def _documents(module, words):
    columns = (Document.number, Document.subject, Organisation.name)
    return (
        db.select(Document)
        .outerjoin(Organisation, Document.organisation_id == Organisation.id)
        .where(Document.kind == module, Document.archived_at.is_(None), *_matching(columns, words))
        .order_by(Document.number.desc(), Document.id.desc())
    )


def first_choice(module):
    """The choice a picker starts with (the first record of ``module``), or None; None too
    for a module no picker offers."""
    found = search_choices(module, "", limit=1) if module in PICKER_MODULES else []
    return found[0] if found else None


def choice_of(module, record):
    """How the picker shows ``record``: "Emma Smith <emma@…>", "INV-2026-0042 · Northwind"."""
    if module == "contact":
        organisation = record.organisation.name if record.organisation else ""
        detail = " · ".join(part for part in (organisation, record.language.upper()) if part)
        return PickerChoice(record.id, _with_email(record.full_name, record.email), detail)
    if module == "user":
        return PickerChoice(record.id, _with_email(record.name, record.email), record.title)
    if module == "product":
        return PickerChoice(record.id, f"{record.name} · {record.sku}", "")
    if module == "organisation":
        detail = " · ".join(p for p in (record.city, (record.language or "").upper()) if p)
        return PickerChoice(record.id, _with_email(record.name, record.email), detail)
    organisation = record.organisation.name if record.organisation else ""
    label = " · ".join(part for part in (record.number, organisation) if part)
    return PickerChoice(
        record.id, label, " · ".join(p for p in (record.subject, record.status) if p)
    )


def _with_email(name, email):
    if name and email:
        return f"{name} <{email}>"
    return name or email or "(no name)"


def choose_record(module, query, record_id=None):
    """The record a picker's form names: ``record_id`` (what the script chose) while the
    text still shows its label, else the one record the text matches; ``PickerError``
    says why there is none."""
    text = " ".join((query or "").split())[:MAX_QUERY]
    what = module
    if record_id:
        try:
            record = get_record(module, record_id)
        except RecordNotFound:
            record = None
        if record is not None and (not text or choice_of(module, record).label == text):
            return record
    if not words_of(text):
        raise PickerError(f"type part of the name of a {what} and choose one")
    found = search_choices(module, text, limit=2)
    if not found:
        raise PickerError(f"no {what} matches “{text}”")
    if len(found) > 1:
        raise PickerError(f"more than one {what} matches “{text}”: type more of the name")
    return get_record(module, found[0].id)

"""The merge-field catalogue: which fields a template of each module may use.

Derived from the merge data the records part produces (``records.merge``),
the column types of the models and the installation's custom fields. The
editor's field picker shows it; saving a template checks its fields against
it and warns (with suggestions) about names that do not exist.
"""

import difflib
import re
from dataclasses import asdict, dataclass

from jinja2 import meta, nodes
from sqlalchemy import Date, DateTime, Integer, Numeric

from designer.extensions import db
from designer.records import merge
from designer.records.models import (
    Contact,
    CustomField,
    Document,
    DocumentLine,
    Organisation,
    Product,
    User,
)
from designer.settings import COMPANY_FIELDS
from designer.templating.compiler import jinja_skeleton
from designer.templating.sandbox import build_environment

MODULES = ("contact", "organisation", "user", "product", "quote", "invoice")
MONEY = {"unit_price", "net", "tax", "subtotal", "tax_total", "total"}
COMPUTED_TYPES = {
    "full_name": "string",
    "subtotal": "money",
    "tax_total": "money",
    "total": "money",
    "net": "money",
    "tax": "money",
}
EXAMPLES = {
    "first_name": "Jan",
    "last_name": "de Vries",
    "full_name": "Jan de Vries",
    "salutation": "Mr",
    "email": "jan@bakkerij.example",
    "phone": "+31 30 555 0100",
    "name": "Bakkerij De Vries",
    "city": "Utrecht",
    "country": "Netherlands",
    "language": "nl",
    "number": "INV-2026-0042",
    "currency": "EUR",
    "total": "1234.50",
    "website": "https://bakkerij.example",
    "industry": "Retail",
    "title": "Owner",
}
#: Names every template may use besides its records.
CONTEXT_NAMES = {
    "locale",
    "currency",
    "sender",
    "company",
    "loop",
    "unsubscribe_url",
    "webview_url",
    "preferences_url",
    "labels",
    "now",
}


@dataclass(frozen=True)
class Field:
    """One merge field: ``name`` as written in a template, e.g. ``contact.first_name``."""

    name: str
    label: str
    type: str
    example: str


def _column_type(model, attr):
    if attr in COMPUTED_TYPES:
        return COMPUTED_TYPES[attr]
    column = model.__table__.columns.get(attr)
    if column is None:
        return "string"
    kind = column.type
    if attr in MONEY:
        return "money"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, DateTime):
        return "datetime"
    if isinstance(kind, Numeric | Integer):
        return "number"
    return "string"


def _fields(prefix, model, names, label_prefix):
    return [
        Field(
            f"{prefix}.{attr}",
            f"{label_prefix}: {attr.replace('_', ' ')}",
            _column_type(model, attr),
            EXAMPLES.get(attr, ""),
        )
        for attr in names
    ]


def _custom(prefix, module, label_prefix):
    rows = db.session.scalars(db.select(CustomField).where(CustomField.module == module))
    return [
        Field(f"{prefix}.{row.name}", f"{label_prefix}: {row.label}", row.type, row.example)
        for row in rows
    ]


def _organisation(prefix, label):
    return (
        _fields(prefix, Organisation, merge.ORGANISATION_FIELDS, label)
        + _fields(f"{prefix}.owner", User, merge.USER_FIELDS, f"{label} owner")
        + _custom(prefix, "organisation", label)
    )


def _contact(prefix, label):
    return (
        _fields(prefix, Contact, merge.CONTACT_FIELDS, label)
        + _custom(prefix, "contact", label)
        + _organisation(f"{prefix}.organisation", f"{label}'s organisation")
    )


def _document(prefix, label):
    line_label = f"{label} line (in a loop over {prefix}.lines)"
    return (
        _fields(prefix, Document, merge.DOCUMENT_FIELDS, label)
        + [Field(f"{prefix}.lines", f"{label}: lines", "list", "")]
        + _fields("line", DocumentLine, merge.LINE_FIELDS, line_label)
        + [Field("line.name", f"{line_label}: name", "string", "Sourdough loaf")]
        + [Field("line.gross", f"{line_label}: amount before discount", "money", "")]
        + [Field("line.discount", f"{line_label}: discount amount", "money", "")]
        + _fields("line.product", Product, merge.PRODUCT_FIELDS, f"{line_label} product")
    )


def _shared():
    sender = _fields("sender", User, merge.USER_FIELDS, "Sender") + [SIGNATURE_FIELD]
    company = [
        Field(f"company.{name}", f"Company: {name.replace('_', ' ')}", "string", "")
        for name in COMPANY_FIELDS
    ]
    return sender + company + [WEBVIEW_FIELD, PREFERENCES_FIELD]


#: The sending user's signature from their account page (``records.signatures``): HTML
#: in the mail's HTML, text in its text part, empty when the system sends.
SIGNATURE_FIELD = Field(
    "sender.signature",
    "Sender: signature (from their account page; empty for system mail)",
    "html",
    "Kind regards, Jan de Vries",
)
#: The link to the message in a browser (``designer.mail.webview``); empty in previews.
WEBVIEW_FIELD = Field(
    "webview_url",
    "Link: view this e-mail in a browser",
    "url",
    "https://designer.example.com/v/…",
)
#: The recipient's preference page: topics, or unsubscribe from all
#: (``designer.mail.preferences``); empty in previews.
PREFERENCES_FIELD = Field(
    "preferences_url",
    "Link: the recipient's e-mail preferences (topics, unsubscribe)",
    "url",
    "https://designer.example.com/p/…",
)


def catalogue(module):
    """Every merge field a template of ``module`` may use, in picker order."""
    if module not in MODULES:
        raise LookupError(f"unknown module {module!r}")
    if module == "contact":
        fields = _contact("contact", "Contact") + _organisation("organisation", "Organisation")
    elif module == "organisation":
        fields = _organisation("organisation", "Organisation")
    elif module == "user":
        fields = _fields("user", User, merge.USER_FIELDS, "User")
    elif module == "product":
        fields = _fields("product", Product, merge.PRODUCT_FIELDS, "Product")
    else:
        fields = (
            _document(module, module.title())
            + _document("document", "Document")
            + _contact("contact", "Contact")
            + _organisation("organisation", "Organisation")
        )
    return _unique(fields + _shared())


def _unique(fields):
    seen, result = set(), []
    for field in fields:
        if field.name not in seen:
            seen.add(field.name)
            result.append(field)
    return result


def catalogue_json(module):
    return {"module": module, "fields": [asdict(field) for field in catalogue(module)]}


@dataclass(frozen=True)
class UnknownField:
    """A field a template uses that the module does not have."""

    name: str
    line: int
    suggestions: tuple

    def __str__(self):
        hint = f" (did you mean {' or '.join(self.suggestions)}?)" if self.suggestions else ""
        return f"line {self.line}: unknown merge field {self.name}{hint}"


def unknown_fields(module, source):
    """Merge fields in ``source`` that ``module``'s records do not have, with suggestions."""
    env = build_environment()
    ast = env.parse(jinja_skeleton(source))  # the tags alone, on their own lines
    known = {field.name for field in catalogue(module)}
    prefixes = {name.rsplit(".", i)[0] for name in known for i in range(name.count(".") + 1)}
    roots = meta.find_undeclared_variables(ast)
    found = {}
    for node in ast.find_all((nodes.Getattr, nodes.Name)):
        path = _path(node)
        if not path or path.split(".")[0] not in roots or path in found:
            continue
        if path in prefixes or path.split(".")[0] in CONTEXT_NAMES - {"sender", "company"}:
            continue
        found[path] = UnknownField(path, node.lineno, _suggest(path, known))
    return _outermost(found)


def _path(node):
    parts = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if isinstance(node, nodes.Name) and node.ctx == "load":
        parts.append(node.name)
        return ".".join(reversed(parts))
    return None


def _outermost(found):
    """Report ``contcat.first_name`` once, not also ``contcat``."""
    names = set(found)
    return sorted(
        (
            item
            for name, item in found.items()
            if not any(other.startswith(name + ".") for other in names)
        ),
        key=lambda item: (item.line, item.name),
    )


def _suggest(path, candidates):
    return tuple(difflib.get_close_matches(path, sorted(candidates), n=2, cutoff=0.75))


#: ``{{ path … }}`` (a merge field, perhaps with filters) and ``{% … %}`` in a short text.
_EXPRESSION = re.compile(r"\{\{-?\s*([A-Za-z_][\w.]*)[^{}]*?-?\}\}")
_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)


def readable(text, labels):
    """A subject line as a marketer reads it: each merge field as ``[its label]`` (the
    path when the catalogue has none), statements left out. ``labels``: path → label."""
    shown = _EXPRESSION.sub(lambda m: f"[{labels.get(m.group(1), m.group(1))}]", text)
    return " ".join(_STATEMENT.sub("", shown).split())


def labels_of(modules):
    """``{module: {path: label}}`` for the modules named, each catalogue read once."""
    return {
        module: {field.name: field.label for field in catalogue(module)}
        for module in set(modules)
        if module in MODULES
    }

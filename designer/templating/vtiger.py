"""Import of vtiger CRM e-mail templates and vtiger EMAIL Maker / PDF Maker exports.

vtiger writes merge fields as ``$module-field$`` tokens, where ``field`` is the
column name of the record's field:

* plain vtiger 7 e-mail templates: ``$contacts-firstname$``, ``$accounts-accountname$``,
  ``$users-first_name$``, ``$invoice-invoice_no$``, related records as
  ``$invoice-accountid:accountname$``, company details as
  ``$companydetails-organizationname$`` and general ones such as
  ``$custom-currentdate$``;
* EMAIL Maker adds ``$s-…$`` (the sending company / user) and ``$r-…$`` (the
  record the e-mail is about and its recipient), e.g. ``$s-companyname$``,
  ``$r-firstname$``; ``$r-contacts-firstname$`` (with the vtiger module in the
  middle) is read the same way as ``$contacts-firstname$``.

``convert`` turns the tokens it knows (``MAPPING``) into our Jinja merge fields
(``{{ contact.first_name }}``) and leaves the others in the text, where they
are harmless to Jinja, and reports them with their line. Braces that would
start Jinja syntax in the source are escaped, so the result always parses.

Exports (``parse_export``) are XML as PDF Maker / EMAIL Maker write them::

    <?xml version="1.0"?>
    <export>
      <template>
        <type>EMAILMaker</type>                      (PDFMaker: a PDF template)
        <templatename><![CDATA[Welcome]]></templatename>   (or <name>)
        <subject><![CDATA[Welcome $r-firstname$]]></subject>
        <description><![CDATA[...]]></description>
        <module>Contacts</module>   (Contacts, Accounts, Invoice, Quotes, Users, Products)
        <body><![CDATA[<p>Dear $r-firstname$ ...</p>]]></body>  (or <templatebody>)
        <header>...</header><footer>...</footer>     (PDF Maker; optional)
      </template>
      ...
    </export>

Any root element is accepted; every element named ``template`` (or
``emailtemplate``) is one template, tag names are matched case-insensitively.
Text may be CDATA or escaped; the makers' own CDATA escape (``<|!|[%|CDATA|[%|``
and ``|%]|]|>``) is undone; a body with ``encoding="base64"`` (or one that is
plainly base64-encoded HTML) is decoded; a body holding only entity-escaped
HTML (``&lt;p&gt;``) is unescaped. Files with a DOCTYPE or ENTITY declaration
are refused outright (no entity expansion, no external entities).
"""

import base64
import binascii
import codecs
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET

from designer.extensions import db
from designer.templating.compiler import TemplateInvalid, check_syntax, compile_source
from designer.templating.versions import create_template

#: A vtiger variable: ``$module-field$``, ``$r-module-field$``, ``$module-reference:field$``.
VARIABLE = re.compile(
    r"\$(?P<module>[A-Za-z][A-Za-z0-9_]*)-"
    r"(?:(?P<inner>[A-Za-z][A-Za-z0-9_]*)-)?"
    r"(?P<field>[A-Za-z0-9_]+)"
    r"(?::(?P<related>[A-Za-z0-9_]+))?\$"
)
#: What may stand between a user's first and last name to make them one name.
NAME_SEPARATOR = re.compile(r"(?:\s|&nbsp;|&#160;)+")
REVERSED_NAME_SEPARATOR = re.compile(r"\s*,(?:\s|&nbsp;|&#160;)*")
#: Largest export file read, in bytes.
MAX_EXPORT_BYTES = 20 * 1024 * 1024
_FORBIDDEN_XML = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml\b[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"\A\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
#: Encodings an export may declare (others could hide a DOCTYPE from the check).
XML_ENCODINGS = {
    "utf-8",
    "utf8",
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "latin-1",
    "latin1",
    "iso-8859-15",
    "windows-1252",
    "cp1252",
}
_MAKER_CDATA = (("<|!|[%|CDATA|[%|", "<![CDATA["), ("|%]|]|>", "]]>"))
_JINJA_OPENER = re.compile(r"\{(?=[{%#])")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")

_CONTACT = {
    "firstname": "contact.first_name",
    "lastname": "contact.last_name",
    "salutation": "contact.salutation",
    "salutationtype": "contact.salutation",
    "email": "contact.email",
    "phone": "contact.phone",
    "mobile": "contact.phone",
    "title": "contact.title",
    "birthday": "contact.birthday | date",
}
_ORGANISATION = {
    "accountname": "organisation.name",
    "email1": "organisation.email",
    "phone": "organisation.phone",
    "website": "organisation.website",
    "industry": "organisation.industry",
    "bill_street": "organisation.street",
    "bill_city": "organisation.city",
    "bill_code": "organisation.postal_code",
    "bill_country": "organisation.country",
}
_USER = {
    "first_name": "sender.name",
    "last_name": "sender.name",
    "email1": "sender.email",
    "title": "sender.title",
    "phone_work": "sender.phone",
    "phone_mobile": "sender.phone",
}
_COMPANY = {
    "organizationname": "company.name",
    "companyname": "company.name",
    "address": "company.address",
    "phone": "company.phone",
    "website": "company.website",
    "email": "company.email",
    "vatid": "company.vat_number",
}


def _document(name, number_field, status_field, due_field):
    money = f"{name}.{{}} | money({name}.currency)"
    return {
        number_field: f"{name}.number",
        "subject": f"{name}.subject",
        status_field: f"{name}.status",
        due_field: f"{name}.due_date | date",
        "hdngrandtotal": money.format("total"),
        "total": money.format("total"),
        "hdnsubtotal": money.format("subtotal"),
        "subtotal": money.format("subtotal"),
        "hdntaxtotal": money.format("tax_total"),
        "currency_id": f"{name}.currency",
        "terms_conditions": f"{name}.notes",
    }


_INVOICE = {
    **_document("invoice", "invoice_no", "invoicestatus", "duedate"),
    "invoicedate": "invoice.issue_date | date",
}
_QUOTE = _document("quote", "quote_no", "quotestage", "validtill")


def _table(module, fields):
    return {f"{module}-{name}": expression for name, expression in fields.items()}


#: vtiger variable (lower case, without the ``$``) → our Jinja expression.
MAPPING = {
    **_table("contacts", _CONTACT),
    **_table("accounts", _ORGANISATION),
    **_table("users", _USER),
    **_table("companydetails", _COMPANY),
    **_table("invoice", _INVOICE),
    **_table("quotes", _QUOTE),
    # EMAIL Maker: s- is the sending company (and its user), r- the record / recipient.
    **_table("s", {**_USER, **_COMPANY}),
    **_table("r", {**_ORGANISATION, **_CONTACT}),
}
#: Reference fields of related-record variables (``$invoice-accountid:accountname$``).
RELATED_MODULES = {
    "accountid": "accounts",
    "account_id": "accounts",
    "parent_id": "accounts",
    "contactid": "contacts",
    "contact_id": "contacts",
    "assigned_user_id": "users",
    "smownerid": "users",
}
#: vtiger module names → ours.
MODULES = {
    "contacts": "contact",
    "leads": "contact",
    "accounts": "organisation",
    "invoice": "invoice",
    "quotes": "quote",
    "users": "user",
    "products": "product",
}
_NOTES = {
    "first_name": "we keep one name per user, so the user's first name became the full name",
    "last_name": "we keep one name per user, so the user's last name became the full name",
}


class Unmapped(NamedTuple):
    """A vtiger variable left as it was: where it is and in which part."""

    variable: str
    line: int
    part: str = "body"

    def __str__(self):
        where = f"line {self.line}" if self.part == "body" else f"{self.part} line {self.line}"
        return f"{where}: {self.variable} has no equivalent and was left as it was"


@dataclass
class Conversion:
    """What ``convert`` made of a text."""

    text: str
    #: (vtiger variable, Jinja expression), in order of first use.
    mapped: list = field(default_factory=list)
    #: ``Unmapped`` entries, sorted by part, line and variable.
    unmapped: list = field(default_factory=list)
    #: Approximations worth telling the user about.
    notes: list = field(default_factory=list)

    def merge(self, other):
        """This conversion's report plus ``other``'s (e.g. the subject's); text stays."""
        mapped = self.mapped + [pair for pair in other.mapped if pair not in self.mapped]
        return Conversion(
            text=self.text,
            mapped=mapped,
            unmapped=sorted(
                set(self.unmapped) | set(other.unmapped),
                key=lambda u: (u.part != "subject", u.part, u.line, u.variable),
            ),
            notes=self.notes + [note for note in other.notes if note not in self.notes],
        )


@dataclass(frozen=True)
class VtigerTemplate:
    """One template read from an export."""

    name: str
    subject: str
    body: str
    module: str
    description: str = ""
    kind: str = "email"


def looks_like_vtiger(text):
    """True when ``text`` holds at least one ``$module-field$`` variable."""
    return bool(VARIABLE.search(text or ""))


def _lookup(found):
    module, inner = found["module"].lower(), (found["inner"] or "").lower()
    name, related = found["field"].lower(), (found["related"] or "").lower()
    if inner:
        if module not in ("r", "s"):
            return None
        module = inner
    if related:
        module = RELATED_MODULES.get(name)
        if module is None:
            return None
        name = related
    return MAPPING.get(f"{module}-{name}")


def convert(text, part="body"):
    """Turn vtiger variables in ``text`` into Jinja merge fields; report what was not."""
    text = text or ""
    pieces, mapped, unmapped, notes = [], [], set(), []
    position = 0
    for token in _tokens(text):
        if token.expression is None:
            line = text.count("\n", 0, token.start) + 1
            unmapped.add(Unmapped(token.variable, line, part))
            continue
        pieces.append(_escape_literal(text[position : token.start], before_field=True))
        pieces.append(f"{{{{ {token.expression} }}}}")
        position = token.end
        if (token.variable, token.expression) not in mapped:
            mapped.append((token.variable, token.expression))
        if token.note and token.note not in notes:
            notes.append(token.note)
    pieces.append(_escape_literal(text[position:], before_field=False))
    return Conversion(
        text="".join(pieces),
        mapped=mapped,
        unmapped=sorted(unmapped, key=lambda u: (u.line, u.variable)),
        notes=notes,
    )


class _Token(NamedTuple):
    start: int
    end: int
    variable: str
    expression: str | None
    note: str | None = None


def _tokens(text):
    """The variables of ``text`` in order; a user's first and last name side by side
    (``$users-first_name$ $users-last_name$``, or last name, comma, first name) are one."""
    found = list(VARIABLE.finditer(text))
    index = 0
    while index < len(found):
        current = found[index]
        following = found[index + 1] if index + 1 < len(found) else None
        if following is not None and _name_pair(text, current, following):
            variable = text[current.start() : following.end()]
            yield _Token(current.start(), following.end(), variable, "sender.name")
            index += 2
            continue
        yield _Token(
            current.start(), current.end(), current.group(0), _lookup(current), _note(current)
        )
        index += 1


def _name_pair(text, first, second):
    prefix = first["module"].lower()
    if prefix not in ("users", "s") or first["inner"] or second["inner"]:
        return False
    if second["module"].lower() != prefix or first["related"] or second["related"]:
        return False
    names = (first["field"].lower(), second["field"].lower())
    between = text[first.end() : second.start()]
    if names == ("first_name", "last_name"):
        return bool(NAME_SEPARATOR.fullmatch(between))
    if names == ("last_name", "first_name"):
        return bool(REVERSED_NAME_SEPARATOR.fullmatch(between))
    return False


def _note(found):
    if found["module"].lower() in ("users", "s") and not found["inner"]:
        note = _NOTES.get(found["field"].lower())
        return f"{found.group(0)}: {note}" if note else None
    return None


def _escape_literal(segment, *, before_field):
    """Keep source text literal for Jinja: ``{`` that would open a tag is output by Jinja."""
    segment = _JINJA_OPENER.sub("{{ '{' }}", segment)
    if before_field and segment.endswith("{"):
        segment = segment[:-1] + "{{ '{' }}"
    return segment


def parse_export(path_or_bytes):
    """Read a PDF Maker / EMAIL Maker XML export (a path or its bytes) into ``VtigerTemplate``s."""
    text = _xml_text(_read_bytes(path_or_bytes))
    if _FORBIDDEN_XML.search(text):
        raise TemplateInvalid(
            "the XML file declares a DOCTYPE or ENTITY, which is refused "
            "(exports do not need them and they can expand without bound)"
        )
    try:
        # defusedxml refuses entity declarations and external references itself too.
        root = DefusedET.fromstring(_XML_DECLARATION.sub("", text, count=1))
    except DefusedXmlException as exc:
        raise TemplateInvalid(f"the XML file is refused: {exc}") from exc
    except ElementTree.ParseError as exc:
        raise TemplateInvalid(f"the export is not well-formed XML: {exc}") from exc
    elements = [el for el in root.iter() if _tag(el) in ("template", "emailtemplate")]
    templates = [_template_of(el, number) for number, el in enumerate(elements, start=1)]
    if not templates:
        raise TemplateInvalid("the export holds no <template> elements")
    return templates


def _read_bytes(path_or_bytes):
    if isinstance(path_or_bytes, bytes | bytearray):
        raw = bytes(path_or_bytes)
    else:
        path = Path(path_or_bytes)
        try:
            if path.stat().st_size > MAX_EXPORT_BYTES:
                raise TemplateInvalid(
                    f"{path.name} is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MB"
                )
            raw = path.read_bytes()
        except OSError as exc:
            raise TemplateInvalid(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_EXPORT_BYTES:
        raise TemplateInvalid(f"the export is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MB")
    return raw


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)


def _xml_text(raw):
    """The export as text, decoded by its byte-order mark or declared encoding."""
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), None)
    if encoding is None:
        declared = _DECLARED_ENCODING.match(raw)
        encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
        if encoding not in XML_ENCODINGS:
            raise TemplateInvalid(
                f"the export is encoded as {encoding}; save it as UTF-8 and import it again"
            )
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise TemplateInvalid(f"the export is not valid {encoding} text: {exc}") from exc


def _tag(element):
    return element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""


def _child(element, *names):
    for name in names:
        for child in element:
            if _tag(child) == name:
                return child
    return None


def _text(element, *names):
    child = _child(element, *names)
    if child is None:
        return ""
    text = child.text or ""
    for encoded, plain in _MAKER_CDATA:
        text = text.replace(encoded, plain)
    return text


def _template_of(element, number):
    kind = "pdf" if _text(element, "type").strip().lower() == "pdfmaker" else "email"
    body = _decode_body(
        _child(element, "body", "templatebody", "content"),
        _text(element, "body", "templatebody", "content"),
    )
    if kind == "pdf":
        header, footer = _text(element, "header").strip(), _text(element, "footer").strip()
        body = "\n".join(part for part in (header, body, footer) if part)
    vtiger_module = _text(element, "module", "modulename").strip().lower()
    module = MODULES.get(vtiger_module) or guess_module(body)
    name = " ".join(_text(element, "templatename", "name", "title").split())
    return VtigerTemplate(
        name=name or f"vtiger template {number}",
        subject=" ".join(_text(element, "subject").split()),
        body=body,
        module=module,
        description=_text(element, "description").strip(),
        kind=kind,
    )


def _decode_body(element, text):
    declared = element is not None and element.get("encoding", "").lower() == "base64"
    stripped = text.strip()
    if declared or (stripped and "<" not in stripped and _BASE64.fullmatch(stripped)):
        try:
            decoded = base64.b64decode("".join(stripped.split()), validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as exc:
            if declared:
                raise TemplateInvalid(f"a template body is not valid base64: {exc}") from exc
        else:
            if declared or "<" in decoded:
                text = decoded
    if "<" not in text and "&lt;" in text:
        text = html.unescape(text)
    return text


def guess_module(text):
    """Our module for a template by the vtiger variables it uses; ``contact`` by default."""
    used = {
        found["inner"].lower() if found["inner"] else found["module"].lower()
        for found in VARIABLE.finditer(text or "")
    }
    for vtiger, ours in (
        ("invoice", "invoice"),
        ("quotes", "quote"),
        ("contacts", "contact"),
        ("r", "contact"),
        ("accounts", "organisation"),
    ):
        if vtiger in used:
            return ours
    return "contact"


def import_vtiger(path, user=None):
    """Create templates from a vtiger export (``.xml``) or a vtiger template (``.html``).

    Returns ``[(template, conversion)]``. Every template is converted and
    validated before the first is created, so an invalid one creates none.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xml":
        found = parse_export(path)
    elif suffix in (".html", ".htm"):
        found = [_html_template(path)]
    else:
        raise TemplateInvalid(
            f"cannot import {path.name}: expected a vtiger .xml export or an .html template"
        )
    prepared = [_prepare(template) for template in found]
    created = []
    try:
        for template, subject, body in prepared:
            saved = create_template(
                template.name,
                body.text,
                source_type="html",
                subject=subject.text,
                module=template.module,
                kind=template.kind,
                user=user,
            )
            if template.description:
                saved.description = template.description
                db.session.commit()
            created.append((saved, body.merge(subject)))
    except Exception:
        db.session.rollback()
        _delete(saved for saved, _ in created)
        raise
    return created


def _html_template(path):
    try:
        raw = _read_bytes(path)
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    found = re.search(r"<title>(.*?)</title>", text, re.DOTALL | re.IGNORECASE)
    subject = " ".join(html.unescape(found.group(1)).split()) if found else ""
    return VtigerTemplate(
        name=path.stem.replace("-", " ").replace("_", " ").title(),
        subject=subject,
        body=text,
        module=guess_module(text),
    )


def _prepare(template):
    body, subject = convert(template.body), convert(template.subject, part="subject")
    if not body.text.strip():
        raise TemplateInvalid(f"{template.name}: the template body is empty")
    try:
        compile_source("html", body.text, template.kind)
        check_syntax(subject.text, "subject")
    except TemplateInvalid as exc:
        raise TemplateInvalid(f"{template.name}: {exc.message}", exc.line) from exc
    return template, subject, body


def _delete(templates):
    for template in templates:
        for version in list(template.versions):
            db.session.delete(version)
        db.session.delete(template)
    db.session.commit()

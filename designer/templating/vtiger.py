"""Migration of vtiger templates, ITS4You EMAIL Maker and PDF Maker exports into ours.

``migrate`` turns one template read from a file (``vtiger_export``) into a
Designer template: its text through ``vtiger_convert`` (variables, product
blocks, labels, dates, page numbers), PDF Maker's header and footer into
running page header and footer (CSS paged media: they repeat on every page),
its page settings into the template's page setup, its decimals into the
number pattern of amounts, and its captions into the template's label
dictionary. The ``MigrationReport`` lists every token and what it became, and
every token left as it was with its line and why.

``import_vtiger`` reads ``.xml`` exports, ``.html`` templates and zips of them;
every template is converted and validated before the first is stored, so an
invalid one stores none.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from designer.extensions import db
from designer.templating import labels as label_dictionaries
from designer.templating.compiler import TemplateInvalid, check_syntax, compile_source
from designer.templating.versions import create_template
from designer.templating.vtiger_convert import (
    LINES_TABLE_LABELS,
    Conversion,
    convert,
    leftovers,
)
from designer.templating.vtiger_export import (
    MAX_EXPORT_BYTES,
    VtigerTemplate,
    guess_module,
    parse_export,
    read_templates,
)

__all__ = [
    "MAX_EXPORT_BYTES",
    "VARIABLE",
    "Conversion",
    "MigrationReport",
    "VtigerTemplate",
    "convert",
    "guess_module",
    "import_vtiger",
    "leftovers",
    "looks_like_vtiger",
    "migrate",
    "parse_export",
]

#: A lower-case vtiger variable: ``$module-field$``, ``$r-module-field$``,
#: ``$module-reference:field$``.
VARIABLE = re.compile(
    r"\$(?P<module>[A-Za-z][A-Za-z0-9_]*)-"
    r"(?:(?P<inner>[A-Za-z][A-Za-z0-9_]*)-)?"
    r"(?P<field>[A-Za-z0-9_]+)"
    r"(?::(?P<related>[A-Za-z0-9_]+))?\$"
)
#: Page sizes PDF Maker offers that the page setup knows.
PAGE_SIZES = {"a3": "A3", "a4": "A4", "a5": "A5", "letter": "Letter", "legal": "Legal"}
RUNNING_CSS = """
@page {
  @top-center { content: element(vtHeader); width: 100%; vertical-align: bottom; }
  @bottom-center { content: element(vtFooter); width: 100%; vertical-align: top; }
}
.vt-running-header { position: running(vtHeader); }
.vt-running-footer { position: running(vtFooter); }
.vt-page-number::before { content: counter(page); }
.vt-page-count::before { content: counter(pages); }
"""
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_INNER = re.compile(r"<body\b[^>]*>(.*)</body\s*>", re.IGNORECASE | re.DOTALL)
_HEAD_OPEN = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HTML_OPEN = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
#: vtiger modules whose records Designer does not keep, and what their templates land on.
STAND_INS = {
    "salesorder": "Designer keeps no sales orders: the template was made an invoice "
    "template, so $SALESORDER_…$ fields read an invoice",
    "purchaseorder": "Designer keeps no purchase orders or vendors: the template was made "
    "an invoice template, so $PURCHASEORDER_…$ fields read an invoice and vendor fields "
    "are not converted",
    "leads": "Designer keeps leads as contacts: the template reads a contact",
    "services": "Designer keeps services as products",
}


@dataclass
class MigrationReport:
    """Per template: the tokens converted, those left as they were, and template-level notes."""

    name: str
    entries: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    module: str = ""
    vtiger_module: str = ""
    kind: str = "email"
    template_id: int | None = None

    @property
    def converted(self):
        return [entry for entry in self.entries if entry.converted]

    @property
    def unconverted(self):
        return [entry for entry in self.entries if not entry.converted]

    def lines(self):
        """The report as text lines (the CLI prints them on stderr)."""
        head = f"{self.name}: {self.kind} template for {self.module}"
        if self.vtiger_module:
            head += f" (vtiger {self.vtiger_module})"
        counts = f"{len(self.converted)} token(s) converted, {len(self.unconverted)} not"
        result = [f"{head}; {counts}"]
        result += [f"  note: {note}" for note in self.notes]
        result += [f"  {entry}" for entry in self.entries if entry.converted]
        result += [f"  NOT CONVERTED {entry}" for entry in self.unconverted]
        return result


@dataclass
class Migration:
    """A vtiger template made ready to store as ours."""

    template: VtigerTemplate
    source: str
    subject: str
    labels: dict
    page_setup: dict
    conversion: Conversion
    report: MigrationReport


def looks_like_vtiger(text):
    """True when ``text`` holds a token of vtiger or its makers (``$…$``, ``%G_…%``, ``#…#``)."""
    return bool(leftovers(text))


def migrate(template):
    """Convert ``template`` (a ``VtigerTemplate``) into source, subject, labels and page setup."""
    decimals = _decimals(template.settings)
    options = {
        "module": template.module,
        "vtiger_module": template.vtiger_module,
        "kind": template.kind,
        "decimals": decimals,
    }
    body = convert(template.body, **options)
    subject = convert(template.subject, "subject", **options)
    conversion = body.merge(subject)
    source = body.text
    if template.kind == "pdf":
        header = convert(_inner(template.header), "header", **options)
        footer = convert(_inner(template.footer), "footer", **options)
        conversion = conversion.merge(header).merge(footer)
        source = paged_source(body.text, header.text, footer.text)
    report = MigrationReport(
        template.name,
        conversion.entries,
        _notes(template),
        template.module,
        template.vtiger_module,
        template.kind,
    )
    return Migration(
        template,
        source,
        subject.text,
        _labels(conversion, source),
        page_setup_of(template.settings, report.notes) if template.kind == "pdf" else {},
        conversion,
        report,
    )


def _notes(template):
    notes = []
    stand_in = STAND_INS.get(template.vtiger_module.lower())
    if stand_in:
        notes.append(stand_in)
    settings = template.settings
    point, thousands = settings.get("decimal_point"), settings.get("thousands")
    if point or thousands:
        notes.append(
            f"PDF Maker wrote amounts with {_shown(point)} as decimal point and "
            f"{_shown(thousands)} between thousands; here they follow the recipient's "
            f"language, with {_decimals(settings)} decimals as set"
        )
    return notes


def _shown(separator):
    if separator in (None, ""):
        return "nothing"
    return "a space" if separator in (" ", "sp") else f"“{separator}”"


def _decimals(settings):
    try:
        return max(0, min(int(settings.get("decimals", 2)), 6))
    except (TypeError, ValueError):
        return 2


def _labels(conversion, source):
    keys = list(conversion.labels)
    if "vt-lines" in source:
        keys += [key for key in LINES_TABLE_LABELS if key not in keys]
    if 'labels["Tax"]' in source and "Tax" not in keys:
        keys.append("Tax")
    return label_dictionaries.dictionary_for(keys)


def _inner(document):
    """The content of a header or footer saved as a whole HTML document."""
    found = _BODY_INNER.search(document or "")
    return found.group(1).strip() if found else (document or "").strip()


def paged_source(body, header, footer):
    """``body`` with ``header`` and ``footer`` as running page header and footer."""
    running = ""
    if header.strip():
        running += f'<div class="vt-running-header">{header}</div>\n'
    if footer.strip():
        running += f'<div class="vt-running-footer">{footer}</div>\n'
    style = f"<style>{RUNNING_CSS}</style>\n"
    if not _HTML_OPEN.search(body):
        return (
            '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
            f"{style}</head>\n<body>\n{running}{body}\n</body>\n</html>\n"
        )
    head = _HEAD_OPEN.search(body)
    if head:
        body = body[: head.end()] + "\n" + style + body[head.end() :]
    else:
        opened = _HTML_OPEN.search(body)
        body = body[: opened.end()] + f"\n<head>\n{style}</head>" + body[opened.end() :]
    opened = _BODY_OPEN.search(body)
    if opened:
        return body[: opened.end()] + "\n" + running + body[opened.end() :]
    return body + running


def page_setup_of(settings, notes):
    """PDF Maker's format, orientation and margins (in cm) as our page setup (``{}``: none)."""
    if not settings.get("format"):
        return {}
    setup = _size(settings["format"], notes)
    if not setup:
        return {}
    orientation = settings.get("orientation", "portrait")
    setup["orientation"] = orientation if orientation in ("portrait", "landscape") else "portrait"
    for side in ("top", "right", "bottom", "left"):
        setup[f"margin_{side}_mm"] = _margin(settings.get(f"margin_{side}"), side, notes)
    return setup


def _size(value, notes):
    value = value.strip()
    if value.lower() in PAGE_SIZES:
        return {"size": PAGE_SIZES[value.lower()]}
    width, _, height = value.partition(";")
    try:
        width_mm, height_mm = float(width.replace(",", ".")), float(height.replace(",", "."))
    except ValueError:
        notes.append(f"page format “{value[:40]}” is not known here: the template's CSS decides")
        return {}
    if not (50 <= width_mm <= 1200 and 50 <= height_mm <= 1200):
        notes.append(f"page format “{value[:40]}” is out of range: the template's CSS decides")
        return {}
    return {"size": "custom", "width_mm": round(width_mm, 1), "height_mm": round(height_mm, 1)}


def _margin(value, side, notes):
    try:
        millimetres = float(str(value).replace(",", ".")) * 10
    except (TypeError, ValueError):
        return 15.0
    if not 0 <= millimetres <= 100:
        notes.append(f"the {side} margin of {value} cm is out of range: 15 mm instead")
        return 15.0
    return round(millimetres, 1)


def import_vtiger(path, user=None, *, name=None, kind=None):
    """Create templates from a vtiger ``.xml`` export, ``.html`` template or ``.zip`` of them.

    ``name`` and ``kind`` apply to a single ``.html`` template. Returns
    ``[(template, conversion, report)]``; an invalid template creates none.
    """
    path = Path(path)
    found = read_templates(path, name=name, kind=kind or "email")
    prepared = [_prepare(migrate(template)) for template in found]
    created = []
    try:
        for migration in prepared:
            saved = _store(migration, user)
            migration.report.template_id = saved.id
            created.append((saved, migration.conversion, migration.report))
    except Exception:
        db.session.rollback()
        _delete(saved for saved, _, _ in created)
        raise
    return created


def _store(migration, user):
    template = migration.template
    saved = create_template(
        template.name,
        migration.source,
        source_type="html",
        subject=migration.subject,
        module=template.module,
        kind=template.kind,
        user=user,
    )
    saved.description = template.description
    saved.labels = migration.labels
    saved.page_setup = migration.page_setup
    db.session.commit()
    return saved


def _prepare(migration):
    template = migration.template
    if not template.body.strip():
        raise TemplateInvalid(f"{template.name}: the template body is empty")
    try:
        compile_source("html", migration.source, template.kind)
        check_syntax(migration.subject, "subject")
    except TemplateInvalid as exc:
        raise TemplateInvalid(f"{template.name}: {exc.message}", exc.line) from exc
    return migration


def _delete(templates):
    for template in templates:
        for version in list(template.versions):
            db.session.delete(version)
        db.session.delete(template)
    db.session.commit()


@dataclass(frozen=True)
class Leftover:
    """A vtiger token still in a template's source: the editor warns about it."""

    token: str
    line: int

    def __str__(self):
        return (
            f"line {self.line}: {self.token} is a vtiger token that was not converted; "
            "it prints as it is, so replace it with a merge field or remove it"
        )


def unconverted_in(source):
    """vtiger tokens a template's source still holds (warnings for the editor)."""
    return [Leftover(token, line) for token, line in leftovers(source)]

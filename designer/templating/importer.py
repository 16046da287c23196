"""Importing templates from files: whatever the file is, one entry point.

``.zip`` is a bundle exported by this app (templates with their assets) when
it holds ``manifest.json``, else a zip of vtiger exports and templates;
``.xml`` a vtiger EMAIL Maker / PDF Maker export; ``.html`` with vtiger tokens
(``$contacts-firstname$``, ``$INVOICE_INVOICE_NO$``, ``%G_Qty%`` …) a vtiger
template; any other ``.html`` or ``.mjml`` file a plain template. A vtiger
import reports, per template, each token and what it became, and each one
left as it was with its line and why.
"""

import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from werkzeug.utils import secure_filename

from designer.templating.bundle import import_bundle
from designer.templating.compiler import TemplateInvalid
from designer.templating.versions import create_template, import_file
from designer.templating.vtiger import import_vtiger, looks_like_vtiger

SUFFIXES = (".mjml", ".html", ".htm", ".xml", ".zip")


@dataclass
class ImportResult:
    """The templates created and what the user should know about them."""

    templates: list
    warnings: list = field(default_factory=list)
    #: ``vtiger.MigrationReport`` per template of a vtiger import.
    reports: list = field(default_factory=list)


def import_path(path, *, name=None, kind=None, user=None):
    """Create templates from the file at ``path``; raise ``TemplateInvalid`` when it cannot."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise TemplateInvalid(f"cannot import {path.name}: expected one of {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise TemplateInvalid(f"no such file: {path}")
    if suffix == ".zip" and _is_bundle(path):
        return ImportResult(import_bundle(_read(path), user=user))
    if suffix in (".xml", ".zip") or (
        suffix in (".html", ".htm") and looks_like_vtiger(_text(path))
    ):
        return _vtiger(path, user, name, kind)
    if kind == "pdf":
        return ImportResult([_pdf_template(path, name, user)])
    return ImportResult([import_file(path, name=name, user=user)])


def import_upload(upload, *, name=None, kind=None, user=None):
    """Import an uploaded file (a werkzeug ``FileStorage``) through a temporary copy."""
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise TemplateInvalid(
            _(
                "cannot import %(file)s: expected one of %(suffixes)s",
                file=upload.filename,
                suffixes=", ".join(SUFFIXES),
            )
        )
    stem = Path(upload.filename).stem
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{secure_filename(stem) or 'template'}{suffix}"
        upload.save(path)
        return import_path(path, name=name, kind=kind, user=user)


def _is_bundle(path):
    """A Designer bundle holds ``manifest.json``; other zips hold vtiger templates."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "manifest.json" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return True  # the bundle reader names the problem


def _vtiger(path, user, name=None, kind=None):
    created = import_vtiger(path, user=user, name=name, kind=kind)
    reports = [report for _template, _version, report in created]
    warnings = [
        f"{report.name}: {item}"
        for report in reports
        for item in [*report.notes, *report.unconverted]
    ]
    return ImportResult([template for template, _version, _report in created], warnings, reports)


def _pdf_template(path, name, user):
    if path.suffix.lower() not in (".html", ".htm"):
        raise TemplateInvalid(_("a PDF template is an .html file (HTML and CSS)"))
    return create_template(
        name or _title(path),
        _text(path),
        source_type="html",
        kind="pdf",
        module=_pdf_module(_text(path)),
        user=user,
    )


def _pdf_module(source):
    for module in ("invoice", "quote"):
        if f"{module}." in source:
            return module
    return "contact"


def _title(path):
    return path.stem.replace("-", " ").replace("_", " ").title()


def _read(path):
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TemplateInvalid(f"cannot read {path}: {exc}") from exc


def _text(path):
    try:
        return _read(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TemplateInvalid(_("%(file)s is not UTF-8 text", file=path.name)) from exc

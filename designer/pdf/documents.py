"""A record's PDF: a PDF template merged for one record and rendered by WeasyPrint.

The merge is the e-mail merge (the Jinja sandbox over plain dicts, money and
dates in the render locale: the recipient's language, else the template's,
else the user's; amounts in the record's currency). Stored assets the merged
HTML names are read before rendering, so the render never uses the session.
"""

from dataclasses import dataclass
from types import SimpleNamespace

from flask import current_app

from designer import isolation, settings
from designer.pdf import page_setup
from designer.pdf.fetcher import prefetch_assets, stored_asset
from designer.pdf.filenames import pdf_filename
from designer.pdf.render import PdfRenderError, render_pdf
from designer.records import merge_data, recipient_of
from designer.records.merge import sender_data
from designer.templating import MergeError, choose_locale, version_for
from designer.templating.compiler import compile_source
from designer.templating.render import build_context, plain_version, renderer_for

#: Longest a record's PDF may take to render, in seconds.
RENDER_TIMEOUT = 20.0


@dataclass(frozen=True)
class RenderedPdf:
    """A rendered PDF with its download name and the locale it was merged in."""

    filename: str
    data: bytes
    locale: str


class PdfFailed(Exception):
    """A template could not be merged or rendered for a record; ``line`` names where."""

    def __init__(self, message, line=None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self):
        return f"line {self.line}: {self.message}" if self.line else self.message

    def __reduce__(self):
        return type(self), (self.message, self.line)


def recipient_language(module, record):
    """The language of the person the record is for, or ``None`` (products, …)."""
    try:
        return recipient_of(module, record).language or None
    except ValueError:
        return None


def record_context(template, module, record, *, user, locale=None):
    """Merge data for ``record`` with sender, company, locale and currency."""
    language = recipient_language(module, record)
    locale = locale or choose_locale(language, template.language, getattr(user, "language", ""))
    return build_context(
        merge_data(module, record),
        sender=sender_data(user),
        company=settings.company(),
        locale=locale,
        currency=getattr(record, "currency", None),
    )


def draft_version(template, source):
    """An unsaved version of a PDF template (``TemplateInvalid`` when it does not compile)."""
    compiled = compile_source(template.source_type, source, "pdf")
    return SimpleNamespace(
        id=None,
        compiled_html=compiled.html,
        text_template="",
        text_override="",
        subject="",
        preheader="",
        links=[],
        labels=(template.variant_of or template).labels or {},
    )


def merge_html(version, data):
    """The merged HTML of a PDF template version; ``MergeError`` names the line."""
    return renderer_for(version).render(data, tracked_links=[]).html


def render_record_pdf(template, module, record, *, user, locale=None, version=None):
    """``RenderedPdf`` of ``template`` merged for ``record`` of ``module``.

    ``version`` replaces the template's current one (the editor's unsaved
    source). Raises ``PdfFailed`` (with the line when the merge failed).
    """
    data = record_context(template, module, record, user=user, locale=locale)
    version = version or version_for(template, data["locale"])
    if version is None:
        raise PdfFailed(f"{template.name} has no saved version")
    job = PdfJob(
        plain_version(version),
        data,
        (template.variant_of or template).page_setup,
        current_app.config["PUBLIC_URL"],
    )
    if isolation.wanted():
        job.assets = prefetch_assets(stored_asset, version.compiled_html, *_strings(data))
    else:
        job.lookup = stored_asset
    try:
        pdf = isolation.run(produce_pdf, job, timeout=RENDER_TIMEOUT + 5, what="rendering the PDF")
    except isolation.IsolatedFailure as exc:
        raise PdfFailed(str(exc)) from exc
    return RenderedPdf(pdf_filename(template.name, module, record), pdf, data["locale"])


@dataclass
class PdfJob:
    """What rendering a record's PDF needs, as plain data (it may cross to a child)."""

    version: object
    data: dict
    setup: dict | None
    public_url: str
    assets: dict | None = None
    lookup: object = None


def produce_pdf(job):
    """Merge, set up the page and render: the PDF bytes of a ``PdfJob``."""
    try:
        html = merge_html(job.version, job.data)
    except MergeError as exc:
        raise PdfFailed(exc.message, exc.line) from exc
    html = page_setup.apply(html, job.setup)
    try:
        return render_pdf(
            html,
            lookup=job.lookup,
            assets=job.assets,
            public_url=job.public_url,
            timeout=RENDER_TIMEOUT,
        )
    except PdfRenderError as exc:
        raise PdfFailed(str(exc)) from exc


def _strings(value):
    """Every string in merge data (asset URLs such as the company logo's are among them)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)

"""PDF pages: a record's PDF download, the editor's page pictures, the default template."""

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from designer import isolation, records, templating
from designer.auth import protect
from designer.errors import error_response
from designer.extensions import db
from designer.i18n import MODULE_NOUNS
from designer.pdf import page_setup
from designer.pdf.defaults import pdf_template_for, set_default_template
from designer.pdf.documents import (
    PdfFailed,
    draft_version,
    recipient_language,
    render_record_pdf,
)
from designer.pdf.filenames import content_disposition
from designer.pdf.pictures import page_png

bp = Blueprint("pdf", __name__)
protect(bp)


def _failed(exc):
    return error_response(422, "pdf_failed", str(exc), {"line": getattr(exc, "line", None)})


@bp.route("/records/<module>/<int:record_id>/pdf")
def download(module, record_id):
    """The record's PDF as a download (``?template=<id>``, else the default template)."""
    if module not in records.MODULES:
        raise records.RecordNotFound(f"unknown module {module!r}")
    record = records.get_record(module, record_id)
    template = pdf_template_for(
        module,
        template_id=request.args.get("template", type=int),
        language=recipient_language(module, record),
    )
    try:
        rendered = render_record_pdf(template, module, record, user=current_user)
    except PdfFailed as exc:
        return _failed(exc)
    return Response(
        rendered.data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": content_disposition(rendered.filename),
            "Content-Language": rendered.locale,
        },
    )


def _preview_record(template):
    """The record named by ``?record=MODULE:ID`` (or a bare id of the template's module)."""
    value = request.values.get("record", "")
    try:
        module, record_id = (
            records.parse_record_ref(value) if ":" in value else (template.module, int(value or 0))
        )
    except ValueError as exc:
        raise records.RecordNotFound(str(exc)) from exc
    if module != (template.variant_of or template).module:
        raise records.RecordNotFound(f"{template.name} is for {template.module} records")
    return module, records.get_record(module, record_id)


def page_picture(template, module, record, page, source=None):
    """``(rendered, png, page_count)``: page ``page`` of the PDF for ``record``, of the saved
    version or of unsaved ``source`` (``PdfFailed``, ``TemplateInvalid`` or
    ``IsolatedFailure`` when it cannot be drawn)."""
    version = draft_version(template, source) if source is not None else None
    rendered = render_record_pdf(template, module, record, user=current_user, version=version)
    png, pages = isolation.run(page_png, rendered.data, page, what="drawing the page")
    return rendered, png, pages


@bp.route("/templates/<int:template_id>/pdf-preview")
def preview(template_id):
    """Page ``?page=N`` of the saved version's PDF for a record, as a PNG (the editor's
    script shows unsaved source through the REST API)."""
    template = templating.get_template(template_id)
    module, record = _preview_record(template)
    try:
        _rendered, png, pages = page_picture(
            template, module, record, request.args.get("page", 1, type=int)
        )
    except (PdfFailed, templating.TemplateInvalid, isolation.IsolatedFailure) as exc:
        return _failed(exc)
    return Response(
        png, mimetype="image/png", headers={"X-Page-Count": str(pages), "Cache-Control": "no-store"}
    )


@bp.route("/templates/<int:template_id>/page-setup", methods=["POST"])
def save_page_setup(template_id):
    """Size, orientation and margins of a PDF template (empty size: the template's CSS)."""
    template = templating.get_template(template_id)
    main = template.variant_of or template
    try:
        main.page_setup = page_setup.validate(request.form)
    except page_setup.PageSetupInvalid as exc:
        flash(_("Page setup not saved: %(error)s", error=exc), "error")
    else:
        db.session.commit()
        flash(_("Page setup saved."), "success")
    return redirect(url_for("templating.editor", template_id=template.id))


@bp.route("/templates/<int:template_id>/pdf-default", methods=["POST"])
def make_default(template_id):
    """Use this template for its module's PDFs (in one language, or in all)."""
    template = templating.get_template(template_id)
    language = (request.form.get("language") or "").strip().lower() or None
    try:
        set_default_template(template, language)
    except ValueError as exc:
        flash(str(exc), "error")
    else:
        if language:
            text = _(
                "“%(name)s” is now the default for %(language)s %(module)s PDFs.",
                name=template.name,
                language=language.upper(),
                module=MODULE_NOUNS.get(template.module, template.module),
            )
        else:
            text = _(
                "“%(name)s” is now the default for %(module)s PDFs.",
                name=template.name,
                module=MODULE_NOUNS.get(template.module, template.module),
            )
        flash(text, "success")
    return redirect(url_for("templating.editor", template_id=template.id))

"""PDF pages: a record's PDF download, the editor's page preview, the default template."""

import base64

from flask import Blueprint, Response, flash, jsonify, redirect, request, url_for
from flask_login import current_user

from designer import isolation, records, templating
from designer.auth import protect
from designer.errors import error_response
from designer.extensions import db
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


def _failed(exc, as_json=None):
    return error_response(422, "pdf_failed", str(exc), {"line": getattr(exc, "line", None)},
                          as_json=as_json)


@bp.route("/records/<module>/<int:record_id>/pdf")
def download(module, record_id):
    """The record's PDF as a download (``?template=<id>``, else the default template)."""
    if module not in records.MODULES:
        raise records.RecordNotFound(f"unknown module {module!r}")
    record = records.get_record(module, record_id)
    template = pdf_template_for(module, template_id=request.args.get("template", type=int),
                                language=recipient_language(module, record))
    try:
        rendered = render_record_pdf(template, module, record, user=current_user)
    except PdfFailed as exc:
        return _failed(exc)
    return Response(rendered.data, mimetype="application/pdf",
                    headers={"Content-Disposition": content_disposition(rendered.filename),
                             "Content-Language": rendered.locale})


def _preview_record(template):
    """The record named by ``?record=MODULE:ID`` (or a bare id of the template's module)."""
    value = request.values.get("record", "")
    try:
        module, record_id = (records.parse_record_ref(value) if ":" in value
                             else (template.module, int(value or 0)))
    except ValueError as exc:
        raise records.RecordNotFound(str(exc)) from exc
    if module != (template.variant_of or template).module:
        raise records.RecordNotFound(f"{template.name} is for {template.module} records")
    return module, records.get_record(module, record_id)


@bp.route("/templates/<int:template_id>/pdf-preview", methods=["GET", "POST"])
def preview(template_id):
    """Page ``?page=N`` of the PDF for a record: a PNG (GET, saved version) or JSON with the
    page as a data URI and the page count (POST, the editor's unsaved ``source``)."""
    template = templating.get_template(template_id)
    module, record = _preview_record(template)
    posted = request.method == "POST"
    try:
        version = draft_version(template, request.form.get("source", "")) if posted else None
        rendered = render_record_pdf(template, module, record, user=current_user,
                                     version=version)
        png, pages = isolation.run(page_png, rendered.data,
                                   request.values.get("page", 1, type=int), what="drawing the page")
    except (PdfFailed, templating.TemplateInvalid, isolation.IsolatedFailure) as exc:
        return _failed(exc, as_json=True if posted else None)
    if posted:
        image = "data:image/png;base64," + base64.b64encode(png).decode()
        return jsonify(image=image, pages=pages, locale=rendered.locale,
                       filename=rendered.filename)
    return Response(png, mimetype="image/png", headers={"X-Page-Count": str(pages),
                                                        "Cache-Control": "no-store"})


@bp.route("/templates/<int:template_id>/page-setup", methods=["POST"])
def save_page_setup(template_id):
    """Size, orientation and margins of a PDF template (empty size: the template's CSS)."""
    template = templating.get_template(template_id)
    main = template.variant_of or template
    try:
        main.page_setup = page_setup.validate(request.form)
    except page_setup.PageSetupInvalid as exc:
        flash(f"Page setup not saved: {exc}", "error")
    else:
        db.session.commit()
        flash("Page setup saved.", "success")
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
        scope = f"{language.upper()} " if language else ""
        flash(f"“{template.name}” is now the default for {scope}{template.module} PDFs.",
              "success")
    return redirect(url_for("templating.editor", template_id=template.id))

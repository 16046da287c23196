"""Batch PDF export pages: choose records, watch the progress bar, download the result.

The export page's script follows the progress through the REST API (``/api/v1/exports``).
"""

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from designer.auth import protect
from designer.extensions import db
from designer.pdf import exports
from designer.pdf.filenames import content_disposition
from designer.pdf.models import PdfExport
from designer.records.models import Document
from designer.templating import Template
from designer.templating.views import module_words

bp = Blueprint("exports", __name__)
protect(bp)
bp.context_processor(module_words)

DOCUMENT_MODULES = ("invoice", "quote")


def export_or_404(export_id):
    export = db.session.get(PdfExport, export_id)
    if export is None or (export.user_id != current_user.id and current_user.role != "admin"):
        abort(404, description=f"no export with id {export_id}")
    return export


def _day(value, what):
    """``value`` as a date (``what`` is ``first`` or ``last``), ``ExportInvalid`` if it is none."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        if what == "first":
            message = _("the first date must look like 2026-11-30")
        else:
            message = _("the last date must look like 2026-11-30")
        raise exports.ExportInvalid(message) from None


def matching_documents(module, start, end, status=""):
    """Documents of ``module`` issued from ``start`` to ``end`` (inclusive), oldest first."""
    query = db.select(Document).where(Document.kind == module)
    if start:
        query = query.where(Document.issue_date >= start)
    if end:
        query = query.where(Document.issue_date <= end)
    if status:
        query = query.where(Document.status == status)
    return db.session.scalars(query.order_by(Document.issue_date, Document.id)).all()


@bp.route("/exports/new", methods=["GET", "POST"])
def new():
    form = request.values
    module = form.get("module", "invoice")
    if module not in DOCUMENT_MODULES:
        module = "invoice"
    try:
        start, end = _day(form.get("start"), "first"), _day(form.get("end"), "last")
    except exports.ExportInvalid as exc:
        flash(str(exc), "error")
        start = end = None
    documents = matching_documents(module, start, end, form.get("status", ""))
    if request.method == "POST" and form.get("action") == "export":
        return _start(module, documents, form)
    templates = db.session.scalars(
        db.select(Template)
        .where(Template.kind == "pdf", Template.module == module)
        .where(Template.archived_at.is_(None))
        .order_by(Template.name)
    ).all()
    return render_template(
        "pdf/export_new.html",
        module=module,
        modules=DOCUMENT_MODULES,
        documents=documents,
        templates=templates,
        form=form,
    )


def _start(module, documents, form):
    chosen = form.getlist("record") or [d.id for d in documents]
    template_id = form.get("template") or None
    try:
        export = exports.start_export(
            current_user,
            module,
            chosen,
            template_id=int(template_id) if template_id else None,
            packing=form.get("packing", "zip"),
        )
    except exports.ExportInvalid as exc:
        flash(_("Not started: %(error)s", error=exc), "error")
        return redirect(url_for("exports.new", module=module))
    return redirect(url_for("exports.page", export_id=export.id))


@bp.route("/exports/<int:export_id>")
def page(export_id):
    export = export_or_404(export_id)
    return render_template("pdf/export.html", export=export, progress=exports.progress(export))


@bp.route("/exports/<int:export_id>/download")
def download(export_id):
    export = export_or_404(export_id)
    if export.state != "done" or export.result is None:
        abort(409, description="the export is not finished yet")
    kind = "application/zip" if export.filename.endswith(".zip") else "application/pdf"
    return Response(
        export.result,
        mimetype=kind,
        headers={"Content-Disposition": content_disposition(export.filename)},
    )

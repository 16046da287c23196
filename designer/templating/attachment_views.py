"""The PDF attachments of an e-mail template: a page and its JSON API."""

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from designer import templating
from designer.auth import protect
from designer.errors import error_response
from designer.templating.attachments import (
    AttachmentInvalid,
    attachable,
    attached,
    set_attachments,
)

bp = Blueprint("attachments", __name__)
protect(bp)


@bp.route("/templates/<int:template_id>/attachments", methods=["GET", "POST"])
def page(template_id):
    template = templating.get_template(template_id)
    status = 200
    if request.method == "POST":
        try:
            set_attachments(template, request.form.getlist("pdf"))
        except AttachmentInvalid as exc:
            flash(f"Not saved: {exc}", "error")
            status = 400
        else:
            flash("Attachments saved: they go with every message sent with this template.",
                  "success")
            return redirect(url_for("attachments.page", template_id=template.id))
    return render_template("templating/attachments.html", template=template,
                           choices=attachable(template),
                           chosen={t.id for t in attached(template)}), status


@bp.route("/api/templates/<int:template_id>/attachments", methods=["GET", "PUT"])
def api(template_id):
    template = templating.get_template(template_id)
    if request.method == "PUT":
        body = request.get_json(silent=True) or {}
        try:
            set_attachments(template, body.get("pdf_template_ids") or [])
        except AttachmentInvalid as exc:
            return error_response(422, "invalid", str(exc), {"field": "pdf_template_ids"},
                                  as_json=True)
    return jsonify(template=template.id, pdf_templates=[
        {"id": t.id, "name": t.name} for t in attached(template)])

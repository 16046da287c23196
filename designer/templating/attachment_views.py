"""The PDF attachments of an e-mail template: its page (the REST API has them too)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from designer import templating
from designer.auth import protect
from designer.templating.attachments import (
    AttachmentInvalid,
    attachable,
    attached,
    set_attachments,
)
from designer.templating.views import module_words

bp = Blueprint("attachments", __name__)
protect(bp)
bp.context_processor(module_words)


@bp.route("/templates/<int:template_id>/attachments", methods=["GET", "POST"])
def page(template_id):
    template = templating.get_template(template_id)
    status = 200
    if request.method == "POST":
        try:
            set_attachments(template, request.form.getlist("pdf"))
        except AttachmentInvalid as exc:
            flash(_("Not saved: %(error)s", error=exc), "error")
            status = 400
        else:
            flash(
                _("Attachments saved: they go with every message sent with this template."),
                "success",
            )
            return redirect(url_for("attachments.page", template_id=template.id))
    return render_template(
        "templating/attachments.html",
        template=template,
        choices=attachable(template),
        chosen={t.id for t in attached(template)},
    ), status

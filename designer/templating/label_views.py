"""The label dictionary of a template: its page, where the texts per language are edited."""

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from designer import templating
from designer.auth import protect
from designer.extensions import db
from designer.templating.labels import LabelsInvalid, parse_labels

bp = Blueprint("labels", __name__)
protect(bp)


@bp.route("/templates/<int:template_id>/labels", methods=["GET", "POST"])
def page(template_id):
    template = templating.get_template(template_id)
    if request.method == "GET":
        return _page(template, json.dumps(template.labels or {}, indent=2, ensure_ascii=False))
    text = request.form.get("labels", "")
    try:
        template.labels = parse_labels(text)
    except LabelsInvalid as exc:
        flash(_("Labels not saved: %(error)s", error=exc), "error")
        return _page(template, text, status=400)
    db.session.commit()
    flash(_("Labels saved: every render of this template uses them from now on."), "success")
    return redirect(url_for("labels.page", template_id=template.id))


def _page(template, text, status=200):
    keys = sorted({key for texts in (template.labels or {}).values() for key in texts})
    languages = sorted(template.labels or {})
    return render_template(
        "templating/labels.html",
        template=template,
        text=text,
        keys=keys,
        languages=languages,
    ), status

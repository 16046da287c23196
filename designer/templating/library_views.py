"""The template library's own actions: archive and restore, new templates from starters,
and the gallery's thumbnails.

Archiving asks the campaigns and workflows parts what still needs the template (the page
layer may combine parts); the list shows archived templates under their own filter.
"""

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from designer import campaigns, templating, workflows
from designer.auth import protect
from designer.templating import starters
from designer.templating.archive import family_ids
from designer.templating.template_thumbnails import version_thumbnail

bp = Blueprint("library", __name__)
protect(bp)


def uses_of(template):
    """What still sends ``template`` (or a language variant of it), in words."""
    ids = family_ids(template)
    return [
        *(_campaign_use(c) for c in campaigns.campaigns_using(ids)),
        *(
            _("the switched-on workflow “%(name)s”", name=w.name)
            for w in workflows.enabled_workflows_using(ids)
        ),
    ]


def _campaign_use(campaign):
    """``campaign`` in words, by its state (only active campaigns keep a template in use)."""
    states = {
        "scheduled": _("the scheduled campaign “%(name)s”", name=campaign.name),
        "sending": _("the sending campaign “%(name)s”", name=campaign.name),
        "paused": _("the paused campaign “%(name)s”", name=campaign.name),
    }
    return states.get(
        campaign.state,
        _("the %(state)s campaign “%(name)s”", state=campaign.state, name=campaign.name),
    )


@bp.route("/templates/<int:template_id>/archive", methods=["POST"])
def archive(template_id):
    template = templating.get_template(template_id)
    try:
        main = templating.archive_template(template, uses_of(template))
    except templating.TemplateInUse as exc:
        flash(_("Not archived: %(error)s.", error=exc), "error")
        return redirect(_back(template))
    flash(
        _(
            "Archived “%(name)s”: it is no longer offered for new mail; messages sent with it "
            "keep their history. Find it under “Archived” to restore it.",
            name=main.name,
        ),
        "success",
    )
    return redirect(url_for("templating.list_page"))


@bp.route("/templates/<int:template_id>/unarchive", methods=["POST"])
def unarchive(template_id):
    main = templating.restore_template(templating.get_template(template_id))
    flash(
        _("Restored “%(name)s”: it is back in the library and the pickers.", name=main.name),
        "success",
    )
    return redirect(url_for("templating.list_page"))


def _back(template):
    """Where the archive button was: the list (with its filters) or the template's editor."""
    if request.form.get("from") == "editor":
        return url_for("templating.editor", template_id=template.id)
    return url_for("templating.list_page")


@bp.route("/templates/new/starter", methods=["POST"])
def from_starter():
    """Create a template from the starter the gallery's button named (``starter``)."""
    try:
        entry = starters.get_starter(request.form.get("starter", ""))
    except starters.StarterNotFound:
        flash(_("Choose one of the starters below."), "error")
        return redirect(url_for("templating.new"))
    name = " ".join(request.form.get("starter_name", "").split())[:200]
    template = starters.create_from_starter(entry, name=name, user=current_user)
    flash(
        _(
            "Template “%(name)s” created from the starter “%(starter)s”.",
            name=template.name,
            starter=starters.shown(entry)["title"],
        ),
        "success",
    )
    return redirect(url_for("templating.editor", template_id=template.id))


@bp.route("/templates/starters/<slug>.png")
def starter_thumbnail(slug):
    try:
        path = starters.thumbnail_path(starters.get_starter(slug))
    except starters.StarterNotFound:
        path = None
    if path is None:
        abort(404, description="no starter has this picture")
    return send_file(path, mimetype="image/png", max_age=3600)


@bp.route("/templates/<int:template_id>/versions/<int:number>/thumbnail.png")
def thumbnail(template_id, number):
    """A saved version merged for the sample, as a picture (versions never change, so the
    browser may keep it)."""
    template = templating.get_template(template_id)
    try:
        version = templating.get_version(template, number)
    except LookupError:
        abort(404, description=f"template {template_id} has no version {number}")
    cache = Path(current_app.config["INSTANCE_PATH"]) / "cache" / "thumbnails"
    png = version_thumbnail(version, cache)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=86400"})

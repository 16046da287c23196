"""Settings pages (administrators only)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from designer import settings
from designer.assets import AssetRejected, asset_path, store_asset
from designer.auth import protect
from designer.mail.address_check import address_problem

bp = Blueprint("settings", __name__, url_prefix="/settings")
protect(bp, role="admin")


@bp.route("/tracking", methods=["GET", "POST"])
def tracking():
    """Languages and countries whose recipients get no open pixel and no tracked links."""
    from designer.mail.tracking_policy import set_tracking_policy, tracking_policy

    if request.method == "POST":
        set_tracking_policy(
            request.form.get("off_languages", "").split(","),
            request.form.get("off_countries", "").split(","),
        )
        flash(_("Tracking settings saved."), "success")
        return redirect(url_for("settings.tracking"))
    return render_template("settings/tracking.html", policy=tracking_policy())


TEXT_FIELDS = ("name", "address", "email", "phone", "website", "vat_number")


@bp.route("/company", methods=["GET", "POST"])
def company():
    if request.method == "GET":
        return render_template("settings/company.html", company=settings.company(), problems={})
    values = {field: request.form.get(field, "") for field in TEXT_FIELDS}
    problems = _company_problems(values)
    if not problems:
        try:
            values.update(_logo(request))
        except AssetRejected as exc:
            problems["logo"] = str(exc)
    if problems:
        flash(_("Not saved: correct the fields marked below."), "error")
        shown = {**settings.company(), **values}
        return render_template("settings/company.html", company=shown, problems=problems), 400
    settings.set_company(values)
    flash(_("Company details saved."), "success")
    return redirect(url_for("settings.company"))


def _company_problems(values):
    problems = settings.company_problems(values)
    email = values["email"].strip()
    if email and "email" not in problems:
        problem = address_problem(email)
        if problem:  # (the check's word on spaces is about lists: one address a line)
            why = _("it has a space") if " " in email else problem
            problems["email"] = _("not an e-mail address like hello@example.com: %(why)s", why=why)
    return problems


def _logo(req):
    """``{"logo_url": …}`` for an uploaded or removed logo, else nothing."""
    if req.form.get("remove_logo"):
        return {"logo_url": ""}
    upload = req.files.get("logo")
    if not upload or not upload.filename:
        return {}
    if not (upload.mimetype or "").startswith("image/"):
        raise AssetRejected(
            _(
                "%(file)s: the logo must be an image (PNG, JPEG, SVG …)",
                file=upload.filename,
            )
        )
    asset = store_asset(upload.filename, upload.mimetype, upload.read())
    return {"logo_url": asset_path(asset)}

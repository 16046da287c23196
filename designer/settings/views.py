"""Settings pages (administrators only)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for

from designer import settings
from designer.auth import protect

bp = Blueprint("settings", __name__, url_prefix="/settings")
protect(bp, role="admin")


@bp.route("/tracking", methods=["GET", "POST"])
def tracking():
    """Languages and countries whose recipients get no open pixel and no tracked links."""
    from designer.tracking.policy import set_tracking_policy, tracking_policy

    if request.method == "POST":
        set_tracking_policy(request.form.get("off_languages", "").split(","),
                            request.form.get("off_countries", "").split(","))
        flash("Tracking settings saved.", "success")
        return redirect(url_for("settings.tracking"))
    return render_template("settings/tracking.html", policy=tracking_policy())


@bp.route("/company", methods=["GET", "POST"])
def company():
    if request.method == "POST":
        settings.set_company(request.form)
        flash("Company details saved.", "success")
        return redirect(url_for("settings.company"))
    return render_template("settings/company.html", company=settings.company())

"""Settings pages (administrators only)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for

from designer import settings
from designer.auth import protect

bp = Blueprint("settings", __name__, url_prefix="/settings")
protect(bp, role="admin")


@bp.route("/company", methods=["GET", "POST"])
def company():
    if request.method == "POST":
        settings.set_company(request.form)
        flash("Company details saved.", "success")
        return redirect(url_for("settings.company"))
    return render_template("settings/company.html", company=settings.company())

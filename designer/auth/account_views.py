"""The user's own account page: who they are, and changing their password."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from designer.auth import protect, sessions
from designer.auth.password_changes import PasswordNotChanged, change_own_password
from designer.auth.passwords import MIN_LENGTH

bp = Blueprint("account", __name__)
protect(bp)


def _page(error=None, field=None, status=200):
    page = render_template("auth/account.html", error=error, field=field, min_length=MIN_LENGTH)
    return page, status, {"Cache-Control": "no-store"}


@bp.route("/account")
def page():
    return _page()


@bp.route("/account/password", methods=["POST"])
def change_password():
    """Change the password; the user's other sessions end, this one goes on."""
    user = current_user._get_current_object()
    form = request.form
    try:
        change_own_password(
            user,
            form.get("current"),
            form.get("password"),
            form.get("confirmation"),
            request.remote_addr,
        )
    except PasswordNotChanged as exc:
        return _page(str(exc), exc.field, exc.status)
    sessions.renew(user)
    flash("Password changed. You were logged out everywhere else.", "success")
    return redirect(url_for("account.page"))

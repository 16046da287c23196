"""Login and logout pages."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from designer.auth import authenticate

bp = Blueprint("auth", __name__)


def _safe_next(target):
    """Only same-site relative paths: the login form is no open redirect."""
    target = target or ""
    parts = urlsplit(target)
    looks_external = target.startswith(("//", "/\\")) or not target.startswith("/")
    if parts.scheme or parts.netloc or looks_external:
        return url_for("templating.list_page")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = authenticate(request.form.get("email"), request.form.get("password"))
        if user:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong e-mail address or password.", "error")
    return render_template("auth/login.html"), 200 if request.method == "GET" else 401


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"))

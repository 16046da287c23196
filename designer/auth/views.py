"""Public account pages: log in, log out, and choose a password through a link."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from redis.exceptions import RedisError

from designer.auth import sessions
from designer.auth.links import LinkInvalid, find_link
from designer.auth.login import LoginRefused, demo_logins, log_in, log_out
from designer.auth.password_changes import PasswordNotChanged, redeem_link
from designer.auth.passwords import MIN_LENGTH
from designer.i18n import N_, _l

bp = Blueprint("auth", __name__)

STORE_DOWN = _l(
    "Logging in is not possible right now: the session store (Redis) does not "
    "answer. Try again in a moment."
)


#: ``designer.auth.links``' reasons a link cannot be used, as the page shows them translated.
LINK_REFUSALS = (
    N_("this link is not valid: ask an administrator for a new one"),
    N_(
        "this link was already used or replaced by a newer one: "
        "log in, or ask an administrator for a new link"
    ),
    N_("this link has expired: ask an administrator for a new one"),
    N_("this link was already used: log in, or ask an administrator for a new link"),
)
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _safe_next(target):
    """Only same-site relative paths: the login form is no open redirect."""
    target = target or ""
    parts = urlsplit(target)
    looks_external = target.startswith(("//", "/\\")) or not target.startswith("/")
    if parts.scheme or parts.netloc or looks_external:
        return url_for("templating.list_page")
    return target


def _login_page(error=None, status=200):
    page = render_template(
        "auth/login.html", error=error, demo_logins=demo_logins(request.remote_addr)
    )
    return page, status


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return _login_page()
    try:
        log_in(request.form.get("email"), request.form.get("password"), request.remote_addr)
    except LoginRefused as exc:
        return _login_page(str(exc), exc.status)
    except RedisError:
        return _login_page(STORE_DOWN, 503)
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    log_out()
    return redirect(url_for("auth.login"))


def _link_page(token, error=None, field=None, status=200):
    page = render_template(
        "auth/set_password.html",
        token=token,
        error=error,
        field=field,
        link=find_link(token),
        min_length=MIN_LENGTH,
    )
    return page, status, NO_STORE


@bp.route("/account/password/<token>", methods=["GET", "POST"])
def set_password(token):
    """The page a set-password link opens; only the form's POST uses the link up (mail
    scanners that follow links do not)."""
    try:
        if request.method == "GET":
            return _link_page(token)
        user = redeem_link(token, request.form.get("password"), request.form.get("confirmation"))
    except LinkInvalid as exc:
        page = render_template("auth/link_invalid.html", message=_(str(exc)))
        return page, 410, NO_STORE
    except PasswordNotChanged as exc:
        return _link_page(token, str(exc), exc.field, exc.status)
    sessions.start(user)
    flash(_("Your password is set. Welcome to Designer."), "success")
    return redirect(url_for("templating.list_page"))

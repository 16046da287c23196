"""The Users page (administrators): invite, change roles, disable and enable, send links."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from designer.auth import accounts, protect
from designer.auth.links import VALID_FOR
from designer.records.models import ROLES

bp = Blueprint("users", __name__)
protect(bp, role="admin")


def _page(error=None, invite_error=None, status=200):
    page = render_template(
        "auth/users.html",
        users=accounts.list_users(),
        roles=ROLES,
        error=error,
        invite_error=invite_error,
        invite_days=VALID_FOR["invite"].days,
    )
    return page, status


def _user_or_404(user_id):
    try:
        return accounts.get_user(user_id)
    except LookupError:
        abort(404, description=_("no user with id %(id)s", id=user_id))


def _done(message):
    flash(message, "success")
    return redirect(url_for("users.list_page"))


@bp.route("/users")
def list_page():
    """Who can log in, and the settings applied to mail they send."""
    return _page()


@bp.route("/users", methods=["POST"])
def invite():
    form = request.form
    try:
        user = accounts.invite(
            form.get("email"),
            form.get("name"),
            form.get("role"),
            current_user._get_current_object(),
        )
    except accounts.AccountError as exc:
        return _page(invite_error=str(exc), status=400)
    days = VALID_FOR["invite"].days
    return _done(
        ngettext(
            "Invitation sent to %(email)s: its link works once, for %(num)d day.",
            "Invitation sent to %(email)s: its link works once, for %(num)d days.",
            days,
            email=user.email,
        )
    )


@bp.route("/users/<int:user_id>/role", methods=["POST"])
def change_role(user_id):
    user = _user_or_404(user_id)
    try:
        accounts.set_role(user, request.form.get("role"))
    except accounts.AccountError as exc:
        return _page(error=str(exc), status=409)
    if user.is_admin:
        return _done(_("%(name)s is now an admin.", name=user.name))
    return _done(_("%(name)s is now a marketer.", name=user.name))


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
def disable(user_id):
    user = _user_or_404(user_id)
    try:
        accounts.disable(user, current_user._get_current_object())
    except accounts.AccountError as exc:
        return _page(error=str(exc), status=409)
    return _done(
        _(
            "%(email)s is disabled: logged out, and their API tokens stopped working.",
            email=user.email,
        )
    )


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
def enable(user_id):
    user = accounts.enable(_user_or_404(user_id))
    return _done(_("%(email)s can log in again.", email=user.email))


@bp.route("/users/<int:user_id>/password-link", methods=["POST"])
def send_link(user_id):
    user = _user_or_404(user_id)
    try:
        accounts.send_reset(user, current_user._get_current_object())
    except accounts.AccountError as exc:
        return _page(error=str(exc), status=409)
    return _done(_("A link to choose a password was sent to %(email)s.", email=user.email))

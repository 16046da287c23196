"""The user's own account page: who they are, their e-mail signature and their password."""

from zoneinfo import available_timezones

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user

from designer.auth import protect, sessions
from designer.auth.password_changes import PasswordNotChanged, change_own_password
from designer.auth.passwords import MIN_LENGTH
from designer.extensions import db
from designer.i18n import LANGUAGES
from designer.records import signatures
from designer.templating.preview import PREVIEW_CSP

bp = Blueprint("account", __name__)
protect(bp)


def _page(error=None, field=None, status=200, signature=None):
    page = render_template(
        "auth/account.html",
        error=error,
        field=field,
        min_length=MIN_LENGTH,
        signature=current_user.signature if signature is None else signature,
        signature_max=signatures.MAX_LENGTH,
        time_zones=_time_zones(),
    )
    return page, status, {"Cache-Control": "no-store"}


def _time_zones():
    return sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")) + [
        "UTC"
    ]


@bp.route("/account")
def page():
    return _page()


@bp.route("/account/language", methods=["POST"])
def save_language():
    """The interface's language (or the browser's) and the time zone pages show times in."""
    user = current_user._get_current_object()
    language = request.form.get("ui_language", "")
    zone = request.form.get("timezone", "")
    if language and language not in LANGUAGES:
        return _page(_("Choose one of the languages in the list."), "ui_language", 400)
    if zone not in _time_zones():
        return _page(
            _("Choose a time zone from the list, such as Europe/Amsterdam."), "timezone", 400
        )
    user.ui_language = language or None
    user.timezone = zone
    db.session.commit()
    refresh()
    flash(_("Language and time zone saved."), "success")
    return redirect(url_for("account.page") + "#language")


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
    flash(_("Password changed. You were logged out everywhere else."), "success")
    return redirect(url_for("account.page"))


@bp.route("/account/signature", methods=["POST"])
def save_signature():
    """Store the user's own signature, sanitised; an oversize one is refused and kept in
    the form."""
    user = current_user._get_current_object()
    submitted = request.form.get("signature", "")
    try:
        stored = signatures.set_signature(user, submitted)
    except signatures.SignatureInvalid as exc:
        db.session.rollback()
        return _page(_("Not saved: %(reason)s", reason=exc), "signature", 400, signature=submitted)
    db.session.commit()
    if stored:
        flash(
            _(
                "Signature saved. Anything mail cannot safely carry (scripts, event handlers, "
                "forms, unknown tags or styles) is left out: the preview shows what recipients "
                "see."
            ),
            "success",
        )
    else:
        flash(_("Signature removed: your mail has none now."), "success")
    return redirect(url_for("account.page") + "#signature")


@bp.route("/account/signature/preview")
def signature_preview():
    """The saved signature as a page for the account page's sandboxed frame."""
    html = signatures.signature_value(current_user).html
    page = (
        '<!doctype html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:Arial,sans-serif;font-size:14px;margin:8px">'
        f"{html}</body></html>"
    )
    return Response(
        page, headers={"Content-Security-Policy": PREVIEW_CSP, "Cache-Control": "no-store"}
    )

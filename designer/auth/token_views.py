"""The user's own API tokens page: create one (shown once), see when each was used, revoke."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from designer.auth import protect
from designer.auth import tokens as api_tokens
from designer.i18n import N_

bp = Blueprint("tokens", __name__)
protect(bp)


#: ``designer.auth.tokens``' refusals, as this page shows them translated.
REFUSALS = (
    N_("give the token a name, e.g. the CRM or script that will use it"),
    N_("the name is at most 100 characters"),
)


def _page(new_token=None, error=None, status=200):
    user = current_user._get_current_object()
    page = render_template(
        "auth/tokens.html", tokens=api_tokens.list_tokens(user), new_token=new_token, error=error
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.route("/account/tokens")
def page():
    return _page()


@bp.route("/account/tokens", methods=["POST"])
def create():
    """Create a token and show it on this response only (it is never stored)."""
    try:
        row, token = api_tokens.create_token(current_user, request.form.get("name"))
    except api_tokens.TokenInvalid as exc:
        return _page(error=_(str(exc)), status=400)
    return _page(new_token={"name": row.name, "token": token}, status=201)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke(token_id):
    try:
        row = api_tokens.revoke_token(current_user, token_id)
    except LookupError:
        abort(404, description=_("you have no token with id %(id)s", id=token_id))
    flash(
        _(
            "Token “%(name)s” (%(prefix)s…) revoked: it no longer works.",
            name=row.name,
            prefix=row.prefix,
        ),
        "success",
    )
    return redirect(url_for("tokens.page"))

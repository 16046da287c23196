"""Settings → Sending (administrators): the From policy and the outgoing servers.

The same settings are in the REST API (``/api/v1/sending``, administrators only).
"""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from designer import records
from designer.auth import protect
from designer.crypto import SecretUnreadable
from designer.mail import oauth, servers, suppression
from designer.mail.oauth_views import connect_context
from designer.mail.sender import PolicyInvalid, sending_policy, set_sending_policy
from designer.mail.transport import PermanentFailure, TemporaryFailure

bp = Blueprint("sending", __name__, url_prefix="/settings/sending")
protect(bp, role="admin")


def _server_or_404(server_id):
    server = servers.get_server(server_id)
    if server is None:
        abort(404, description=f"no outgoing server with id {server_id}")
    return server


@bp.route("/", methods=["GET", "POST"])
def index():
    if request.method == "GET":
        return _sending_page(sending_policy())
    form = request.form
    central = form.get("policy") == "central"
    typed = {
        "central_from": form.get("central_from", "")[:1000] if central else "",
        "envelope_from": form.get("envelope_from", "")[:1000],
    }
    try:
        set_sending_policy(**typed, central=central)
    except PolicyInvalid as exc:
        flash(_("Not saved: correct the field marked below."), "error")
        shown = {**typed, "central_from": form.get("central_from", "")[:1000]}
        return _sending_page(shown, problem=(exc.field, str(exc)), central=central), 400
    flash(_("Sender settings saved."), "success")
    return redirect(url_for("sending.index"))


def _sending_page(policy, problem=(None, ""), central=None):
    return render_template(
        "mail/sending.html",
        policy=policy,
        central=bool(policy["central_from"]) if central is None else central,
        problem_field=problem[0],
        problem=problem[1],
        servers=servers.list_servers(),
        warnings=_public_url_warnings() + _dkim_warnings(),
    )


def _public_url_warnings():
    warning = suppression.one_click_warning(current_app.config["PUBLIC_URL"])
    return [warning] if warning else []


def _dkim_warnings():
    try:
        from designer.mail.dkim import missing_key_warning
    except ImportError:
        return []
    policy = sending_policy()
    addresses = (
        [policy["central_from"]]
        if policy["central_from"]
        else [user.email for user in records.list_users()]
    )
    found = {missing_key_warning(address) for address in addresses}
    return sorted(warning for warning in found if warning)


@bp.route("/servers/new", methods=["GET", "POST"])
@bp.route("/servers/<int:server_id>", methods=["GET", "POST"])
def server_form(server_id=None):
    server = _server_or_404(server_id) if server_id else None
    if request.method == "POST":
        try:
            server = servers.save_server(request.form, server)
        except servers.ServerInvalid as exc:
            flash(str(exc), "error")
            return render_template(
                "mail/server_form.html",
                server=server,
                form=request.form,
                users=records.list_users(),
                oauth=connect_context("server", oauth.grant_for(server=server), server_id),
            ), 400
        flash(_("Server “%(name)s” saved.", name=server.name), "success")
        return redirect(url_for("sending.index"))
    return render_template(
        "mail/server_form.html",
        server=server,
        form={},
        users=records.list_users(),
        oauth=connect_context("server", oauth.grant_for(server=server), server_id),
    )


@bp.route("/servers/<int:server_id>/delete", methods=["POST"])
def delete_server(server_id):
    server = _server_or_404(server_id)
    servers.delete_server(server)
    flash(_("Server “%(name)s” removed.", name=server.name), "success")
    return redirect(url_for("sending.index"))


@bp.route("/servers/<int:server_id>/test", methods=["POST"])
def test_server(server_id):
    """Send a test message to the administrator and show the server's answer."""
    server = _server_or_404(server_id)
    to_address = request.form.get("to") or current_user.email
    try:
        answer = servers.send_test(server, to_address)
    except (TemporaryFailure, PermanentFailure, SecretUnreadable) as exc:
        flash(
            _(
                "The test message through %(server)s was not sent: %(error)s",
                server=server.name,
                error=exc,
            ),
            "error",
        )
    else:
        flash(
            _(
                "%(server)s accepted the test message to %(address)s: %(answer)s",
                server=server.name,
                address=to_address,
                answer=answer,
            ),
            "success",
        )
    return redirect(url_for("sending.index"))

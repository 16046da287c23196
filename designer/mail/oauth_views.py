"""Connecting a mail account with OAuth2 (Google, Microsoft 365, another provider).

"Connect … account" on My mailbox, an outgoing server or the bounce mailbox
posts here; the browser goes to the provider with the authorization-code
flow and PKCE (S256), and comes back to ``/oauth/callback`` — the one
redirect URI registered with every provider. The ``state`` is signed and
names the person, the target and a nonce kept in their session with the PKCE
verifier, so a callback can only finish a connection its own browser began.
A marketer connects only their own mailbox; servers and the bounce mailbox
are for administrators. Settings → OAuth2 sign-in takes each provider's
client id and secret (administrators).
"""

import base64
import json
import secrets
import time
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature
from requests import RequestException

from designer import signing
from designer.auth import protect, require_role
from designer.health import is_admin
from designer.mail import bounces, oauth, oauth_providers, servers
from designer.mail.mailbox import link_oauth_mailbox

bp = Blueprint("oauth", __name__)
protect(bp)

TARGETS = ("mailbox", "server", "bounces")
#: Seconds a person has to sign in at the provider.
STATE_MAX_AGE = 600
SESSION_KEY = "oauth_pending"
#: Scopes added for Google and Microsoft so the token names the account signed in.
IDENTITY_SCOPES = "openid email"


# Settings → OAuth2 sign-in ----------------------------------------------------------


@bp.route("/settings/oauth", methods=["GET", "POST"])
@require_role("admin")
def providers_page():
    if request.method == "POST":
        key = request.form.get("provider", "")
        try:
            oauth_providers.save_provider(key, request.form)
        except ValueError as exc:
            flash(_("Not saved: %(error)s", error=exc), "error")
            return _providers_page(request.form, key), 400
        if key == "generic":
            flash(_("another provider sign-in saved."), "success")
        else:
            flash(
                _("%(provider)s sign-in saved.", provider=oauth_providers.PRESETS[key]["label"]),
                "success",
            )
        return redirect(url_for("oauth.providers_page"))
    return _providers_page({}, None)


def _providers_page(form, editing):
    return render_template(
        "mail/oauth_providers.html",
        providers={key: oauth_providers.provider(key) for key in oauth_providers.PRESETS},
        form=form,
        editing=editing,
        redirect_uri=redirect_uri(),
        security=oauth_providers.SECURITY,
    )


def redirect_uri():
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/oauth/callback"


# The flow ---------------------------------------------------------------------------


@bp.post("/oauth/connect/<target>/<provider_key>")
def connect(target, provider_key):
    if target not in TARGETS or provider_key not in oauth_providers.PRESETS:
        abort(404)
    if target != "mailbox" and not is_admin():
        abort(403)
    server_id = request.form.get("server_id", type=int) if target == "server" else None
    back = _page_of(target, server_id)
    if not oauth_providers.configured(provider_key):
        flash(_("That provider is not set up yet: an administrator enters its client id."), "error")
        return redirect(back)
    provider = oauth_providers.provider(provider_key)
    hint = (request.form.get("account") or "").strip()[:320]
    if provider_key == "generic" and "@" not in hint:
        flash(_("Enter the e-mail address of the account you connect."), "error")
        return redirect(back)
    nonce, verifier = secrets.token_urlsafe(16), generate_token(64)
    state = signing.serializer("oauth-state").dumps(
        {"n": nonce, "u": current_user.id, "at": int(time.time())}
    )
    session[SESSION_KEY] = {
        "nonce": nonce,
        "verifier": verifier,
        "target": target,
        "server_id": server_id,
        "provider": provider_key,
        "hint": hint,
    }
    client = _client(provider)
    extra = dict(provider["extra"])
    if hint:
        extra["login_hint"] = hint
    url, _state = client.create_authorization_url(
        provider["authorize_url"], state=state, code_verifier=verifier, **extra
    )
    return redirect(url)


@bp.get("/oauth/callback")
def callback():
    pending = session.pop(SESSION_KEY, None)
    if not pending or not _state_ok(request.args.get("state", ""), pending["nonce"]):
        flash(_("That sign-in was not started here or took too long: connect again."), "error")
        return redirect(url_for("mailbox.settings"))
    target, server_id = pending["target"], pending["server_id"]
    back = _page_of(target, server_id)
    if target != "mailbox" and not is_admin():
        abort(403)
    if request.args.get("error"):
        flash(
            _(
                "The provider did not connect the account: %(error)s",
                error=request.args["error"][:200],
            ),
            "error",
        )
        return redirect(back)
    provider = oauth_providers.provider(pending["provider"])
    client = _client(provider)
    try:
        token = client.fetch_token(
            provider["token_url"],
            code=request.args.get("code", ""),
            code_verifier=pending["verifier"],
            timeout=oauth.TIMEOUT,
        )
    except (OAuthError, RequestException, ValueError) as exc:
        flash(_("The provider refused the sign-in: %(error)s", error=exc), "error")
        return redirect(back)
    finally:
        client.close()
    account = _signed_in_as(token) or pending["hint"]
    if "@" not in account:
        flash(_("The provider did not say which account signed in: enter its address."), "error")
        return redirect(back)
    try:
        _store(target, server_id, pending["provider"], account, token)
    except ValueError as exc:
        flash(_("Not connected: %(error)s", error=exc), "error")
        return redirect(back)
    flash(_("Connected as %(account)s.", account=account), "success")
    return redirect(back)


def _client(provider):
    scopes = provider["scopes"]
    if provider["key"] != "generic":
        scopes = f"{IDENTITY_SCOPES} {scopes}"
    return OAuth2Session(
        provider["client_id"],
        provider["client_secret"],
        scope=scopes,
        redirect_uri=redirect_uri(),
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method, not a secret
    )


def _state_ok(state, nonce):
    try:
        found = signing.serializer("oauth-state").loads(state)
    except BadSignature:
        return False
    return (
        secrets.compare_digest(str(found.get("n", "")), nonce)
        and found.get("u") == current_user.id
        and time.time() - found.get("at", 0) <= STATE_MAX_AGE
    )


def _signed_in_as(token):
    """The e-mail address in the ID token the provider's token endpoint just gave (read
    from the TLS answer itself, as OpenID Connect allows: not from a third party)."""
    id_token = token.get("id_token") or ""
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return ""
    found = claims.get("email") or claims.get("preferred_username") or ""
    return found.strip() if isinstance(found, str) else ""


def _store(target, server_id, provider_key, account, token):
    if target == "mailbox":
        link_oauth_mailbox(current_user._get_current_object(), provider_key, account, token)
    elif target == "server":
        server = servers.get_server(server_id) if server_id else None
        servers.link_oauth_server(provider_key, account, token, server=server)
    else:
        bounces.link_oauth_bounces(provider_key, account, token)


def _page_of(target, server_id):
    if target == "mailbox":
        return url_for("mailbox.settings")
    if target == "server":
        return (
            url_for("sending.server_form", server_id=server_id)
            if server_id
            else url_for("sending.index")
        )
    return url_for("bounces.index")


def connect_context(target, grant, server_id=None):
    """What the "Connect … account" block of a page shows; its forms may lead to the
    providers' sign-in pages (``designer.security``)."""
    providers = [oauth_providers.provider(key) for key in oauth_providers.available()]
    g.form_action_origins = [_origin(provider["authorize_url"]) for provider in providers]
    return {"target": target, "grant": grant, "server_id": server_id, "providers": providers}


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"

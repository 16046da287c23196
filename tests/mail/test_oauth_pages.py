"""Connecting accounts with OAuth2 through the pages: the settings of the providers, the
authorization-code flow with PKCE against the local authorization server, roles, CSRF,
the state of a grant on its page and in ``/healthz``."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from oauth_server import CLIENT_ID, CLIENT_SECRET, OAUTH_USER, SCOPE
from support import csrf_token

from designer.extensions import db
from designer.mail import oauth, oauth_providers
from designer.mail.models import Mailbox, OAuthGrant

CALLBACK = "http://designer.test/oauth/callback"


@pytest.fixture
def provider(app, oauth, dovecot):
    oauth.allow_redirect(CALLBACK)
    oauth_providers.save_provider(
        "generic",
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "authorize_url": f"{oauth.url}/authorize",
            "token_url": f"{oauth.url}/token",
            "scopes": SCOPE,
            "smtp_host": "127.0.0.1",
            "smtp_port": "587",
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_security": "none",
        },
    )
    return oauth


def start(client, page, target, account=OAUTH_USER, **form):
    token = csrf_token(client, page)
    return client.post(
        f"/oauth/connect/{target}/generic",
        data={"csrf_token": token, "account": account, **form},
    )


def consent(authorize_url, account=OAUTH_USER, answer="yes"):
    """What the person does on the provider's page: sign in and allow (or deny)."""
    answered = requests.post(
        authorize_url,
        data={"account": account, "consent": answer},
        allow_redirects=False,
        timeout=10,
    )
    assert answered.status_code == 302, answered.text
    return answered.headers["Location"]


def callback_path(location):
    assert location.startswith(CALLBACK), location
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def test_a_marketer_connects_their_mailbox(provider, marketer_client, demo):
    policy = marketer_client.get("/settings/mailbox").headers["Content-Security-Policy"]
    assert f"form-action 'self' {provider.url};" in policy  # the form may lead there
    assert (
        "form-action 'self';"
        in marketer_client.get("/templates").headers["Content-Security-Policy"]
    )
    started = start(marketer_client, "/settings/mailbox", "mailbox")
    assert started.status_code == 302
    authorize = started.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{provider.url}/authorize")
    assert query["code_challenge_method"] == ["S256"] and query["login_hint"] == [OAUTH_USER]
    assert query["redirect_uri"] == [CALLBACK]

    done = marketer_client.get(callback_path(consent(authorize)), follow_redirects=True)

    page = done.get_data(as_text=True)
    assert f"Connected as {OAUTH_USER}" in page
    mailbox = db.session.scalar(db.select(Mailbox))
    assert mailbox.username == OAUTH_USER and mailbox.port == provider_port(provider)
    grant = oauth.grant_for(mailbox=mailbox)
    assert grant.state == "ok" and grant.account == OAUTH_USER
    assert "Connected as" in marketer_client.get("/settings/mailbox").get_data(as_text=True)


def provider_port(provider):
    return int(oauth_providers.provider("generic")["imap_port"])


def test_a_denied_consent_connects_nothing(provider, marketer_client):
    authorize = start(marketer_client, "/settings/mailbox", "mailbox").headers["Location"]
    done = marketer_client.get(
        callback_path(consent(authorize, answer="no")), follow_redirects=True
    )
    assert "did not connect the account: access_denied" in done.get_data(as_text=True)
    assert db.session.scalar(db.select(OAuthGrant)) is None


def test_a_forged_or_replayed_state_is_refused(provider, marketer_client, admin_client):
    authorize = start(marketer_client, "/settings/mailbox", "mailbox").headers["Location"]
    location = consent(authorize)
    forged = location.replace("state=", "state=x")
    refused = marketer_client.get(callback_path(forged), follow_redirects=True)
    assert "not started here" in refused.get_data(as_text=True)
    # The nonce left the session with that try: the real answer is now refused too.
    again = marketer_client.get(callback_path(location), follow_redirects=True)
    assert "not started here" in again.get_data(as_text=True)
    # Another person's browser cannot finish it either.
    authorize = start(marketer_client, "/settings/mailbox", "mailbox").headers["Location"]
    stolen = admin_client.get(callback_path(consent(authorize)), follow_redirects=True)
    assert "not started here" in stolen.get_data(as_text=True)
    assert db.session.scalar(db.select(OAuthGrant)) is None


def test_roles_and_csrf(provider, marketer_client, admin_client):
    assert start(marketer_client, "/settings/mailbox", "server").status_code == 403
    assert start(marketer_client, "/settings/mailbox", "bounces").status_code == 403
    assert marketer_client.get("/settings/oauth").status_code == 403
    assert marketer_client.post("/oauth/connect/mailbox/generic").status_code == 400  # no token
    assert start(marketer_client, "/settings/mailbox", "nowhere").status_code == 404
    refused = start(marketer_client, "/settings/mailbox", "mailbox", account="no-address")
    assert refused.status_code == 302 and "/oauth/" not in refused.headers["Location"]
    assert admin_client.post("/settings/oauth", data={"provider": "google"}).status_code == 400


def test_an_admin_connects_the_bounce_mailbox_and_sees_a_revoked_grant(
    provider, admin_client, marketer_client
):
    authorize = start(admin_client, "/settings/bounces", "bounces").headers["Location"]
    done = admin_client.get(callback_path(consent(authorize)), follow_redirects=True)
    assert f"Connected as {OAUTH_USER}" in done.get_data(as_text=True)
    assert oauth.grant_for(bounces=True) is not None

    provider.revoke_account(OAUTH_USER)
    with pytest.raises(oauth.ReconnectNeeded):
        oauth.bounce_credentials().token(fresh=True)

    page = admin_client.get("/settings/bounces").get_data(as_text=True)
    assert "Reconnect needed" in page and "invalid_grant" in page
    health = admin_client.get("/healthz").get_json()
    [listed] = health["oauth_reconnect_needed"]
    assert listed["owner"] == "bounce mailbox" and listed["account"] == OAUTH_USER
    assert "oauth_reconnect_needed" not in marketer_client.get("/healthz").get_json()


def test_an_admin_connects_an_outgoing_server(provider, admin_client):
    authorize = start(admin_client, "/settings/sending/", "server").headers["Location"]
    done = admin_client.get(callback_path(consent(authorize)), follow_redirects=True)
    assert done.request.path == "/settings/sending/"
    grant = db.session.scalar(db.select(OAuthGrant))
    assert grant.server_id and grant.account == OAUTH_USER
    page = admin_client.get(f"/settings/sending/servers/{grant.server_id}").get_data(as_text=True)
    assert f"Connected as <strong>{OAUTH_USER}</strong>" in page


def test_the_providers_page_saves_settings(app, admin_client):
    token = csrf_token(admin_client, "/settings/oauth")
    saved = admin_client.post(
        "/settings/oauth",
        data={"csrf_token": token, "provider": "google", "client_id": "g-id", "client_secret": "g"},
        follow_redirects=True,
    )
    page = saved.get_data(as_text=True)
    assert "Google sign-in saved." in page and "http://designer.test/oauth/callback" in page
    assert oauth_providers.configured("google")
    bad = admin_client.post(
        "/settings/oauth",
        data={
            "csrf_token": token,
            "provider": "generic",
            "client_id": "x",
            "client_secret": "y",
            "imap_port": "0",
        },
    )
    assert bad.status_code == 400 and "IMAP port" in bad.get_data(as_text=True)
    mailbox_page = admin_client.get("/settings/mailbox").get_data(as_text=True)
    assert "Connect Google account" in mailbox_page

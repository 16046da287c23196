"""OAuth2 sign-in for sending and sent copies, against real servers on loopback.

The local authorization server (``oauth_server``, Authlib) issues and
introspects the tokens; Dovecot's ``oauth2`` passdb checks them for IMAP
(XOAUTH2) and, through its SASL socket, for Postfix's submission port
(OAUTHBEARER only: the port filters the mechanisms), which relays to a sink.
"""

from datetime import timedelta

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from oauth_server import CLIENT_ID, CLIENT_SECRET, OAUTH_USER, SCOPE
from support import free_port, wait_for

from designer import mail
from designer.clock import utcnow
from designer.crypto import decrypt
from designer.extensions import db
from designer.mail import bounces, oauth, oauth_providers, sentcopy, servers
from designer.mail.mailbox import (
    check_mailbox,
    link_oauth_mailbox,
    mailbox_for,
    unlink_mailbox,
)
from designer.mail.models import Message, OAuthGrant, SentCopy

REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture
def provider(app, oauth, imap, postfix):
    """The generic provider set up for the local authorization server, Dovecot, Postfix."""
    oauth.allow_redirect(REDIRECT)
    oauth_providers.save_provider(
        "generic",
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "authorize_url": f"{oauth.url}/authorize",
            "token_url": f"{oauth.url}/token",
            "scopes": SCOPE,
            "smtp_host": postfix.host,
            "smtp_port": postfix.port,
            "smtp_security": "none",
            "imap_host": imap.host,
            "imap_port": imap.port,
            "imap_security": "none",
        },
    )
    return oauth


def sign_in(oauth, account=OAUTH_USER):
    """The authorization-code flow with PKCE, as a person consenting on the provider's page."""
    import requests

    client = OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope=SCOPE,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",
    )
    verifier = generate_token(48)
    url, state = client.create_authorization_url(f"{oauth.url}/authorize", code_verifier=verifier)
    consent = requests.post(
        url, data={"account": account, "consent": "yes"}, allow_redirects=False, timeout=10
    )
    assert consent.status_code == 302, consent.text
    redirected = consent.headers["Location"]
    assert f"state={state}" in redirected
    return client.fetch_token(
        f"{oauth.url}/token", authorization_response=redirected, code_verifier=verifier
    )


def send_as(user, welcome, people):
    message = mail.queue_message(
        welcome.current, module="contact", record=people.jan, sender_user=user, enqueue=False
    )
    outcome = mail.deliver_batch([message.id])
    db.session.expire_all()
    return db.session.get(Message, message.id), outcome


def oauth_server_for_everyone(provider):
    server = servers.link_oauth_server("generic", OAUTH_USER, sign_in(provider))
    server.is_default = True
    db.session.commit()
    return server


def arrived(postfix, count=1):
    return wait_for(lambda: len(postfix.sink.received) >= count, timeout=15, interval=0.1)


def test_a_signed_in_account_sends_through_postfix_and_keeps_its_copy_in_dovecot(
    provider, postfix, imap, welcome, people
):
    server = oauth_server_for_everyone(provider)
    grant = oauth.grant_for(server=server)
    assert grant.account == OAUTH_USER and grant.state == "ok"
    assert grant.refresh_token_encrypted and "refresh" not in grant.refresh_token_encrypted
    assert provider.find(decrypt(grant.refresh_token_encrypted)) is not None
    link_oauth_mailbox(people.admin, "generic", OAUTH_USER, sign_in(provider))
    assert mailbox_for(people.admin).password_encrypted == ""

    message, outcome = send_as(people.admin, welcome, people)

    assert outcome["sent"] == 1 and message.state == "sent", message.last_error
    assert arrived(postfix)
    [delivered] = postfix.sink.messages()
    assert delivered["Message-ID"].strip("<>") in message.message_id
    assert "ESMTPA" in delivered["Received"]  # Postfix took it from an authenticated client
    assert "sasl_method=OAUTHBEARER" in postfix.log()
    assert f"sasl_username={OAUTH_USER}" in postfix.log()

    offset = imap.log_size()
    assert sentcopy.append_due_copies() == 1
    assert "method=XOAUTH2" in imap.log_since(offset)
    [(flags, stored)] = imap.messages(OAUTH_USER, "Sent Items")
    assert b"\\Seen" in flags and message.message_id.strip("<>").encode() in stored
    assert provider.refreshes == 0  # the tokens of the sign-in were still good


def test_a_token_due_to_expire_is_refreshed_before_it_is_used(
    provider, postfix, imap, welcome, people
):
    provider.access_lifetime = 60  # less than oauth.EARLY: due at once
    server = oauth_server_for_everyone(provider)
    before = decrypt(oauth.grant_for(server=server).access_token_encrypted)

    message, _ = send_as(people.admin, welcome, people)

    assert message.state == "sent", message.last_error
    assert arrived(postfix)
    assert provider.refreshes == 1
    db.session.expire_all()
    grant = oauth.grant_for(server=server)
    assert decrypt(grant.access_token_encrypted) != before
    assert grant.refreshed_at is not None and grant.expires_at > utcnow()


def test_a_token_the_server_refuses_is_refreshed_once_and_the_login_tried_again(
    provider, postfix, imap, welcome, people
):
    server = oauth_server_for_everyone(provider)
    link_oauth_mailbox(people.admin, "generic", OAUTH_USER, sign_in(provider))
    provider.expire_access_tokens(OAUTH_USER)  # expired at the provider, not in our books
    assert oauth.grant_for(server=server).expires_at > utcnow() + timedelta(minutes=30)

    message, _ = send_as(people.admin, welcome, people)
    assert message.state == "sent", message.last_error
    assert arrived(postfix)
    assert provider.refreshes == 1  # the server's grant only

    assert sentcopy.append_due_copies() == 1
    assert provider.refreshes == 2  # then the mailbox's
    assert len(imap.messages(OAUTH_USER, "Sent Items")) == 1


def test_a_revoked_grant_needs_reconnecting_and_the_mail_waits(
    provider, postfix, imap, welcome, people
):
    server = oauth_server_for_everyone(provider)
    link_oauth_mailbox(people.admin, "generic", OAUTH_USER, sign_in(provider))
    message, _ = send_as(people.admin, welcome, people)
    assert message.state == "sent"
    provider.revoke_account(OAUTH_USER)  # the user removed the app's access

    later, outcome = send_as(people.admin, welcome, people)

    assert outcome["retry"] == 1 and outcome.get("failed", 0) == 0
    assert later.state == "queued" and later.next_attempt_at > utcnow()
    assert "connect the account again" in later.last_error
    db.session.expire_all()
    grant = oauth.grant_for(server=server)
    assert grant.state == "reconnect" and "invalid_grant" in grant.last_error
    assert {"owner": f"outgoing server {server.id}", "account": OAUTH_USER}.items() <= (
        oauth.needing_reconnection()[0].items()
    )
    assert arrived(postfix) and not wait_for(lambda: len(postfix.sink.received) > 1, timeout=1)

    assert sentcopy.append_due_copies() == 0  # the copy of the first message waits too
    copy = db.session.scalar(db.select(SentCopy).where(SentCopy.message_id == message.id))
    assert copy.state == "pending" and "revoked" in copy.last_error
    assert len(oauth.needing_reconnection()) == 2

    # Signing in again sets both right: the mail goes, the copy is stored.
    servers.link_oauth_server("generic", OAUTH_USER, sign_in(provider), server=server)
    link_oauth_mailbox(people.admin, "generic", OAUTH_USER, sign_in(provider))
    assert oauth.needing_reconnection() == []
    later.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert mail.deliver_batch([later.id])["sent"] == 1
    assert arrived(postfix, 2)
    assert sentcopy.append_due_copies() == 2


def test_a_provider_out_of_reach_delays_the_mail_without_asking_to_reconnect(
    provider, postfix, welcome, people
):
    server = oauth_server_for_everyone(provider)
    settings = oauth_providers.stored()["generic"]
    settings["token_url"] = f"http://127.0.0.1:{free_port()}/token"  # nothing listens
    oauth_providers.save_provider("generic", {**settings, "client_secret": CLIENT_SECRET})
    provider.access_lifetime = 60  # the token is due: a refresh is needed
    servers.link_oauth_server("generic", OAUTH_USER, sign_in(provider), server=server)

    message, outcome = send_as(people.admin, welcome, people)

    assert outcome["retry"] == 1 and message.state == "queued"
    assert "cannot reach the provider's token endpoint" in message.last_error
    db.session.expire_all()
    grant = oauth.grant_for(server=server)
    assert grant.state == "ok" and "cannot reach" in grant.last_error
    assert oauth.needing_reconnection() == []
    assert postfix.sink.received == []


def test_the_bounce_mailbox_is_read_with_its_grant(provider, imap):
    bounces.link_oauth_bounces("generic", OAUTH_USER, sign_in(provider))
    offset = imap.log_size()
    assert bounces.poll() == {"read": 0, "bounces": 0, "unsubscribes": 0}
    assert f"user=<{OAUTH_USER}>, method=XOAUTH2" in imap.log_since(offset)
    bounces.remove_bounce_settings()
    assert oauth.grant_for(bounces=True) is None


def test_a_token_of_someone_else_is_refused(provider, imap, people):
    link_oauth_mailbox(
        people.admin, "generic", OAUTH_USER, sign_in(provider, "mallory@example.test")
    )
    grant = db.session.scalar(db.select(OAuthGrant))
    assert grant.account == OAUTH_USER
    from designer.mail import imap as imap_client

    with pytest.raises(imap_client.MailboxError, match="refused the login of carol"):
        imap_client.connect(mailbox_for(people.admin))
    assert provider.refreshes == 1  # refused, refreshed once, refused again: no loop


def test_removing_the_mailbox_removes_its_grant(provider, people):
    link_oauth_mailbox(people.admin, "generic", OAUTH_USER, sign_in(provider))
    assert unlink_mailbox(people.admin)
    assert db.session.scalar(db.select(OAuthGrant)) is None


def test_a_password_typed_replaces_the_sign_in(provider, imap, people):
    from designer.mail.mailbox import link_mailbox

    server = servers.link_oauth_server("generic", OAUTH_USER, sign_in(provider))
    link_oauth_mailbox(people.admin, "generic", OAUTH_USER, sign_in(provider))
    bounces.link_oauth_bounces("generic", OAUTH_USER, sign_in(provider))
    assert db.session.scalar(db.select(db.func.count()).select_from(OAuthGrant)) == 3
    mailbox = mailbox_for(people.admin)
    kept = {"host": mailbox.host, "port": mailbox.port, "security": "none"}
    link_mailbox(people.admin, **kept, username=OAUTH_USER, password="")  # no password: kept
    assert oauth.grant_for(mailbox=mailbox) is not None
    link_mailbox(people.admin, **kept, username=OAUTH_USER, password=imap.users[OAUTH_USER])
    assert oauth.grant_for(mailbox=mailbox) is None
    assert "Connected" in check_mailbox(mailbox)  # logs in with the password now
    servers.save_server({"name": "own", "host": "127.0.0.1", "port": "25", "password": "p"}, server)
    assert oauth.grant_for(server=server) is None
    bounces.save_bounce_settings(
        host=imap.host, port=imap.port, security="none", username="ada", password="x"
    )
    assert oauth.grant_for(bounces=True) is None


def test_a_sign_in_without_a_refresh_token_is_refused(provider, people):
    token = sign_in(provider)
    token.pop("refresh_token")
    with pytest.raises(ValueError, match="no refresh token"):
        link_oauth_mailbox(people.admin, "generic", OAUTH_USER, token)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"client_id": "x"}, "client secret"),
        ({"client_id": "x", "client_secret": "y", "token_url": "ftp://x"}, "https://"),
        ({"client_id": "x", "client_secret": "y", "imap_port": "99999"}, "IMAP port"),
        ({"client_id": "x", "client_secret": "y", "smtp_security": "ssl"}, "Security"),
    ],
)
def test_provider_settings_refuse_bad_input(app, values, problem):
    with pytest.raises(ValueError, match=problem):
        oauth_providers.save_provider("generic", values)
    assert not oauth_providers.configured("generic")


def test_presets_fill_in_hosts_and_scopes_and_keep_the_secret_encrypted(app):
    oauth_providers.save_provider(
        "microsoft", {"client_id": "app-id", "client_secret": "s3cret", "tenant": "contoso.com"}
    )
    found = oauth_providers.provider("microsoft")
    assert found["token_url"] == "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token"
    assert "https://outlook.office.com/SMTP.Send" in found["scopes"]
    assert found["client_secret"] == "s3cret"
    assert "s3cret" not in str(oauth_providers.stored())
    assert oauth_providers.provider("google")["scopes"] == "https://mail.google.com/"
    assert oauth_providers.available() == ["microsoft"]


def test_sasl_strings():
    assert oauth.xoauth2("a@b.c", "T") == "user=a@b.c\x01auth=Bearer T\x01\x01"
    assert oauth.oauthbearer("a,=@b.c", "T", "h", 587) == (
        "n,a=a=2C=3D@b.c,\x01host=h\x01port=587\x01auth=Bearer T\x01\x01"
    )
    assert oauth.mechanism({"PLAIN", "OAUTHBEARER"}) == "OAUTHBEARER"
    assert oauth.mechanism({"XOAUTH2", "OAUTHBEARER"}) == "XOAUTH2"
    assert oauth.error_reply("OAUTHBEARER") == "\x01" and oauth.error_reply("XOAUTH2") == ""


def test_replies_are_read_from_a_mailbox_signed_in_with_oauth(
    provider, postfix, imap, welcome, people
):
    import imaplib
    import time

    from designer.mail import replies

    oauth_server_for_everyone(provider)
    link_oauth_mailbox(people.admin, "generic", OAUTH_USER, sign_in(provider))
    message, outcome = send_as(people.admin, welcome, people)
    assert outcome["sent"] == 1, message.last_error
    reply = (
        f"From: Jan <jan@devries.example>\r\nTo: {OAUTH_USER}\r\nSubject: Re: Welcome\r\n"
        f"Message-ID: <oauth-reply@x>\r\nIn-Reply-To: {message.message_id}\r\n\r\nThanks!\r\n"
    ).encode()
    with imap.session(OAUTH_USER) as conn:
        conn.append("INBOX", "()", imaplib.Time2Internaldate(time.time()), reply)

    offset = imap.log_size()
    found = replies.read_all()
    assert found["replies"] == 1 and found["errors"] == 0
    assert "method=XOAUTH2" in imap.log_since(offset)
    assert [r.excerpt for r in replies.replies_to(message.id)] == ["Thanks!"]

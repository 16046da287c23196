"""Invitations and reset links: mailed through the ledger over real SMTP, used once, expiring,
untracked, and shown to nobody but the recipient and administrators."""

from datetime import timedelta

import pytest
from account_steps import LINK, STRONG, logged_in, post_form, try_login
from support import bearer_client

from designer import mail
from designer.auth.models import PasswordLink
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.catcher import store_received
from designer.mail.models import Message
from designer.templating import list_templates


def invite(admin_client, email="nina@example.com", name="Nina Nieuw", role="marketer"):
    return post_form(
        admin_client, "/users", {"name": name, "email": email, "role": role}, page="/users"
    )


def delivered(smtp_server):
    """The one message the SMTP server got, its text part, and the link in it."""
    [received] = smtp_server.handler.messages()
    text = received.get_body(("plain",)).get_content()
    found = LINK.search(text)
    assert found, text
    return received, text, found.group(0)


@pytest.fixture
def invited(smtp_app, admin_client, run_worker_burst, smtp_server, user_named):
    """Nina, invited by the demo admin; her invitation sent by a real worker over SMTP."""
    response = invite(admin_client)
    assert response.status_code == 302, response.text
    assert "Invitation sent to nina@example.com" in admin_client.get("/users").text
    run_worker_burst()
    return delivered(smtp_server)


def test_invitation_arrives_over_smtp_and_its_link_works_once(app, invited, user_named):
    received, text, link = invited
    assert received["To"].addresses[0].addr_spec == "nina@example.com"
    assert received["Subject"] == "Your Designer account: choose a password"
    assert "Ada Admin created an account for you" in " ".join(text.split())
    assert received["Auto-Submitted"] == "auto-generated"
    nina = user_named("nina@example.com")
    assert nina.role == "marketer" and not nina.has_password
    assert try_login(app.test_client(), "nina@example.com", "").status_code == 401

    browser = app.test_client()
    path = link.removeprefix("http://designer.test")
    page = browser.get(path)
    assert page.status_code == 200 and "nina@example.com" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    weak = post_form(browser, path, {"password": "nina2026", "confirmation": "nina2026"}, page=path)
    assert weak.status_code == 400 and "use at least 12 characters" in weak.text
    chosen = post_form(browser, path, {"password": STRONG, "confirmation": STRONG}, page=path)
    assert chosen.status_code == 302 and logged_in(browser)

    again = post_form(
        app.test_client(),
        path,
        {"password": STRONG + "x", "confirmation": STRONG + "x"},
        page="/login",
    )
    assert again.status_code == 410 and "already used" in again.text
    assert app.test_client().get(path).status_code == 410
    assert try_login(app.test_client(), "nina@example.com", STRONG).status_code == 302


def test_the_mail_is_untracked_and_the_template_is_built_in(invited, admin_client):
    received, _, link = invited
    html = received.get_body(("html",)).get_content()
    assert link in html and "/o/" not in html and "/c/" not in html
    message = db.session.scalar(db.select(Message))
    assert message.state == "sent" and message.record_module == "user"
    assert message.sender_id is None  # from the system: no copy in anyone's Sent folder
    template = message.template_version.template
    assert template.system_key == "account-invite" and not template.tracking
    assert (
        template not in list_templates()
        and template.name not in admin_client.get("/templates").text
    )
    assert admin_client.get(f"/templates/{template.id}").status_code == 404


def test_an_expired_link_is_refused(app, invited):
    _, _, link = invited
    row = db.session.scalar(db.select(PasswordLink))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    path = link.removeprefix("http://designer.test")
    response = app.test_client().get(path)
    assert response.status_code == 410 and "expired" in response.text
    forged = app.test_client().get(path[:-3] + "abc")
    assert forged.status_code == 410 and "not valid" in forged.text


def test_a_reset_link_replaces_the_earlier_one(
    smtp_app, admin_client, run_worker_burst, smtp_server, user_named
):
    marketer = user_named("marketer@example.com")
    for _ in range(2):
        response = post_form(admin_client, f"/users/{marketer.id}/password-link", {}, page="/users")
        assert response.status_code == 302
    run_worker_burst()
    states = sorted(m.state for m in db.session.scalars(db.select(Message)))
    # The first link was replaced before its mail went out: that mail fails, not carrying it.
    assert states == ["failed", "sent"]
    _, text, link = delivered(smtp_server)
    assert "choose a new password" in text
    path = link.removeprefix("http://designer.test")
    browser = smtp_app.test_client()
    assert (
        post_form(
            browser, path, {"password": STRONG, "confirmation": STRONG}, page=path
        ).status_code
        == 302
    )
    assert try_login(smtp_app.test_client(), "marketer@example.com", "demo").status_code == 401
    assert not user_named("marketer@example.com").demo_password


def test_other_users_never_see_the_link(
    app, invited, marketer_client, marketer_token, admin_client
):
    received, _, link = invited
    message = db.session.scalar(db.select(Message))
    for path in (
        f"/messages/{message.id}",
        f"/messages/{message.id}/html",
        f"/api/v1/messages/{message.id}",
    ):
        assert marketer_client.get(path).status_code == 404, path
    api = bearer_client(app, marketer_token)
    assert api.get(f"/api/v1/messages/{message.id}").status_code == 404
    assert api.get(f"/api/v1/messages/{message.id}/outcomes").status_code == 404
    shown = admin_client.get(f"/messages/{message.id}/html")
    assert shown.status_code == 200 and link not in shown.text
    assert "/account/password/hidden" in shown.text

    store_received(app, "hello@northwind.example", ["nina@example.com"], received.as_bytes())
    item = mail.outbox_page().rows[0]
    assert item.system_mail
    assert "choose a password" not in marketer_client.get("/outbox").text
    assert marketer_client.get(f"/outbox/{item.id}").status_code == 404
    assert marketer_client.get(f"/outbox/{item.id}/html").status_code == 404
    assert "choose a password" in admin_client.get("/outbox").text
    assert admin_client.get(f"/outbox/{item.id}").status_code == 200


def test_invitations_are_checked(smtp_app, admin_client):
    cases = [
        ({"email": "admin@example.com"}, "already an account"),
        ({"email": "not-an-address"}, "is not an e-mail address"),
        ({"name": " "}, "give a name"),
        ({"role": "owner"}, "the role is one of admin, marketer"),
    ]
    for change, message in cases:
        data = {"name": "Nina", "email": "nina@example.com", "role": "marketer", **change}
        response = post_form(admin_client, "/users", data, page="/users")
        assert response.status_code == 400 and message in response.text, change
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0

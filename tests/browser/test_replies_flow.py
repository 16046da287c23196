"""A reply appears on the message page, in a real Chromium: the admin links their mailbox
(a real Dovecot on loopback) on My mailbox, sends a message, the recipient's answer is
delivered to the INBOX, ``designer read-replies`` reads it, and the page shows it."""

import imaplib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mail_servers
import pytest
from playwright.sync_api import expect
from support import free_port, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dovecot():
    """The Dovecot of the mail tests (``mail_servers``), in a folder
    its mail processes (another user when we are root) can reach."""
    if not Path(mail_servers.DOVECOT).exists():
        pytest.skip("dovecot-imapd is not installed")
    from oauth_server import Provider

    provider = Provider()  # the Dovecot's token introspection (unused here: a password login)
    provider.start(free_port())
    root = Path(tempfile.mkdtemp(prefix="designer-dovecot-"))
    root.chmod(0o755)
    server = mail_servers.Dovecot(root, provider)
    try:
        server.start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        provider.stop()


def read_replies(served):
    """``designer read-replies`` in the served product's instance, loopback mail allowed."""
    env = {**served.env, "ALLOWED_MAIL_HOSTS": "127.0.0.1"}
    return subprocess.run(
        [sys.executable, "-m", "designer", "read-replies"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sent_message(request, base_url):
    """Send a demo template to a demo contact through the API; the message once sent."""
    contacts = request.get(f"{base_url}/contacts").text()
    token = contacts.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    contact_id = next(  # the first contact listed with an address (other tests add some without)
        int(row.split('href="/contacts/', 1)[1].split('"', 1)[0])
        for row in contacts.split("<tr")
        if 'href="/contacts/' in row and "@" in row and "held-back" not in row
    )
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    listed = request.get(f"{base_url}/api/v1/templates?kind=email", headers=headers).json()
    answer = request.post(
        f"{base_url}/api/v1/messages",
        headers=headers,
        data={
            "template_id": listed["templates"][0]["id"],
            "record": {"module": "contact", "id": contact_id},
        },
    )
    assert answer.status == 202, answer.text()
    path = f"{base_url}/api/v1/messages/{answer.json()['id']}"
    sent = {}
    assert wait_for(
        lambda: sent.update(request.get(path, headers=headers).json()) or sent["message_id"],
        timeout=60,
        interval=0.5,
    ), sent
    return sent


def test_a_reply_appears_on_the_message_page(signed_in, served, dovecot):
    context = signed_in("admin")
    page = context.new_page()
    try:
        page.goto(f"{served.url}/settings/mailbox")
        page.fill("#host", dovecot.host)
        page.select_option("#security", "none")
        page.fill("#port", str(dovecot.port))
        page.fill("#username", "ada")
        page.fill("#password", dovecot.users["ada"])
        page.click("button[value=save]")
        expect(page.locator(".flash-success")).to_contain_text("Mailbox saved.")

        message = sent_message(context.request, served.url)
        reply = (
            "From: Jan Customer <jan@customer.example>\r\nTo: admin@example.com\r\n"
            "Subject: Re: your mail\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
            "Message-ID: <browser-reply@customer.example>\r\n"
            f"In-Reply-To: {message['message_id']}\r\n"
            "Content-Type: text/html; charset=utf-8\r\n\r\n"
            "<p>Count me in!</p><img src=https://tracker.example/x.gif><script>alert(1)</script>\r\n"
        ).encode()
        with dovecot.session("ada") as conn:
            conn.append("INBOX", "()", imaplib.Time2Internaldate(time.time()), reply)

        result = read_replies(served)
        # Other tests of the run may leave mailboxes linked to servers that are gone: their
        # errors make the exit status 1, but this mailbox's reply is read all the same.
        assert "1 new reply" in result.stdout, result.stdout + result.stderr[-2000:]

        page.goto(f"{served.url}/messages/{message['id']}")
        shown = page.locator(".reply")
        expect(shown).to_have_count(1)
        expect(shown.locator(".reply-sender")).to_have_text("Jan Customer")
        expect(shown.locator(".reply-excerpt")).to_have_text("Count me in!")
        expect(shown.locator("a", has_text="Open in your mail")).to_have_attribute(
            "href", "message:%3Cbrowser-reply@customer.example%3E"
        )
        expect(page.locator("#replies-heading .count")).to_have_text("1")
        assert page.locator(".reply script, .reply img").count() == 0
    finally:  # leave the served product as it was
        page.goto(f"{served.url}/settings/mailbox")
        remove = page.locator("form[action$='/settings/mailbox/remove']")
        if remove.count():
            token = remove.locator("input[name=csrf_token]").input_value()
            url = f"{served.url}/settings/mailbox/remove"
            assert context.request.post(url, form={"csrf_token": token}).ok
        page.close()

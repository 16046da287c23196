"""Mail hosts typed in the browser reach no internal address, and servers' words come back
short and clean: no port probing through My mailbox, Bounces or an outgoing server's test."""

import re
import time

import pytest
from support import csrf_token

from designer import mail
from designer.extensions import db
from designer.mail import servers
from designer.mail.imap import MailboxError
from designer.mail.mailbox import check_mailbox, link_mailbox
from designer.mail.transport import PermanentFailure, TemporaryFailure

SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 secret-build\r\n"
LOOPBACK_REFUSED = (
    "127.0.0.1 is a loopback address; ask an administrator to add it to ALLOWED_MAIL_HOSTS"
)


def mailbox_form(client, host, port, action="test"):
    return {
        "host": host,
        "port": str(port),
        "security": "none",
        "username": "mia",
        "password": "pw",
        "sent_folder": "",
        "action": action,
        "csrf_token": csrf_token(client, "/settings/mailbox"),
    }


def connections(server):
    time.sleep(0.1)  # a connection made is accepted well within this
    return server.connections


def add_server(port, **extra):
    return servers.save_server(
        {
            "name": "Office",
            "host": "127.0.0.1",
            "port": str(port),
            "security": "none",
            "timeout": "5",
            **extra,
        }
    )


def is_clean(text, limit=300):
    return len(text) <= limit and all(" " <= char <= "~" for char in text)


# Refused addresses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "refusal"),
    [
        ("127.0.0.1", LOOPBACK_REFUSED),
        (
            "localhost",
            "localhost resolves to 127.0.0.1, a loopback address; ask an administrator "
            "to add localhost to ALLOWED_MAIL_HOSTS",
        ),
    ],
)
def test_a_marketers_mailbox_test_cannot_reach_a_local_service(
    marketer_client, nothing_allowed, banner_server, host, refusal
):
    ssh = banner_server(SSH_BANNER)
    page = marketer_client.post(
        "/settings/mailbox",
        data=mailbox_form(marketer_client, host, ssh.port),
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"the connection test failed: cannot connect to {host}:{ssh.port}: {refusal}" in page
    assert "SSH" not in page and "secret-build" not in page
    assert connections(ssh) == 0


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("169.254.169.254", "a link-local"),
        ("10.20.30.40", "a private"),
        ("100.64.1.1", "a shared (carrier-grade NAT)"),
        ("0.0.0.0", "an unspecified"),
        ("::1", "a loopback"),
        ("fd00::25", "a private"),
    ],
)
def test_mailbox_connections_refuse_every_internal_kind(app, people, nothing_allowed, host, kind):
    mailbox = link_mailbox(
        people.admin, host=host, port=993, security="tls", username="ada", password="pw"
    )
    with pytest.raises(MailboxError, match=re.escape(f"{host} is {kind} address; ask an")):
        check_mailbox(mailbox)


def test_the_bounce_mailbox_check_is_refused(admin_client, nothing_allowed, banner_server):
    ssh = banner_server(SSH_BANNER)
    token = csrf_token(admin_client, "/settings/bounces")
    page = admin_client.post(
        "/settings/bounces",
        data={
            "host": "127.0.0.1",
            "port": str(ssh.port),
            "security": "none",
            "username": "b",
            "password": "pw",
            "folder": "INBOX",
            "soft_threshold": "3",
            "action": "check",
            "csrf_token": token,
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"cannot be read: cannot connect to 127.0.0.1:{ssh.port}: {LOOPBACK_REFUSED}" in page
    assert "SSH" not in page and connections(ssh) == 0


def test_an_outgoing_servers_test_is_refused(admin_client, nothing_allowed, smtp_server):
    server = add_server(smtp_server.port)
    token = csrf_token(admin_client, "/settings/sending/")
    page = admin_client.post(
        f"/settings/sending/servers/{server.id}/test",
        data={"csrf_token": token},
        follow_redirects=True,
    ).text
    assert (
        f"The test message through Office was not sent: cannot connect to "
        f"127.0.0.1:{smtp_server.port}: {LOOPBACK_REFUSED}"
    ) in page
    assert smtp_server.handler.received == []


def test_mail_through_a_refused_server_waits_and_says_why(
    app, nothing_allowed, smtp_server, welcome, people
):
    add_server(smtp_server.port, is_default="on")
    message = mail.queue_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, enqueue=False
    )
    assert mail.deliver_batch([message.id])["retry"] == 1
    db.session.refresh(message)
    assert message.state == "queued" and LOOPBACK_REFUSED in message.last_error
    assert smtp_server.handler.received == []


def test_the_operators_smtp_url_is_trusted_as_is(
    smtp_app, nothing_allowed, smtp_server, welcome, people
):
    message = mail.queue_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, enqueue=False
    )
    assert mail.deliver_batch([message.id])["sent"] == 1


def test_the_local_catcher_is_allowed_at_its_port_only(
    app, nothing_allowed, smtp_server, banner_server, people
):
    app.config.update(SMTP_CATCHER=True, SMTP_CATCHER_PORT=smtp_server.port)
    assert servers.send_test(add_server(smtp_server.port), "ada@example.com").startswith("250")
    other = banner_server(b"220 another service ESMTP\r\n")
    with pytest.raises(TemporaryFailure, match=LOOPBACK_REFUSED):
        servers.send_test(add_server(other.port), "ada@example.com")
    app.config["SMTP_CATCHER"] = False  # SMTP_URL set: no catcher runs, no exception
    with pytest.raises(TemporaryFailure, match=LOOPBACK_REFUSED):
        servers.send_test(add_server(smtp_server.port), "ada@example.com")
    app.config["SMTP_CATCHER"] = True
    mailbox = link_mailbox(
        people.admin,
        host="127.0.0.1",
        port=smtp_server.port,
        security="none",
        username="ada",
        password="pw",
    )
    with pytest.raises(MailboxError, match=LOOPBACK_REFUSED):  # IMAP never
        check_mailbox(mailbox)
    assert connections(other) == 0


# What servers say ------------------------------------------------------------------------


def test_another_service_is_named_as_such_not_quoted(marketer_client, banner_server):
    ssh = banner_server(SSH_BANNER)
    page = marketer_client.post(
        "/settings/mailbox",
        data=mailbox_form(marketer_client, "127.0.0.1", ssh.port),
        follow_redirects=True,
    ).get_data(as_text=True)
    assert (
        f"cannot connect to 127.0.0.1:{ssh.port}: the server did not answer as an IMAP server"
    ) in page
    assert "SSH" not in page and "secret-build" not in page
    with pytest.raises(TemporaryFailure) as failed:
        servers.send_test(add_server(ssh.port), "ada@example.com")
    assert str(failed.value) == f"127.0.0.1:{ssh.port} did not answer as an SMTP server"


def test_a_long_garbage_smtp_answer_is_cut_to_a_clean_reason(app, banner_server):
    words = "Zugriff für ada verweigert ".encode()
    noisy = banner_server(b"554 5.7.1 " + b"\x1b[31m\x00\xfe" * 200 + words + b"x" * 3000 + b"\r\n")
    with pytest.raises(PermanentFailure) as failed:
        servers.send_test(add_server(noisy.port), "ada@example.com")
    reason = str(failed.value)
    assert reason.startswith("554 5.7.1 Zugriff fur ada verweigert xxx") and reason.endswith("...")
    assert is_clean(reason, 160)


def tagged_no(line):
    """An IMAP server that turns down the login with a screenful of control characters."""
    tag, command = line.split(b" ", 2)[:2]
    if command.upper().strip() == b"CAPABILITY":
        return b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n"
    return tag + b" NO \x07\x1b[2J" + "Anmeldung für ada fehlgeschlagen ".encode() * 50 + b"\r\n"


def test_a_server_answering_unreadable_bytes_is_said_so(app, people, banner_server):
    def capability(line):  # what imaplib would read as ASCII is not
        return b"* CAPABILITY IMAP4rev1 \xc3\x28\r\n" + line.split(b" ")[0] + b" OK done\r\n"

    odd = banner_server(b"* OK ready\r\n", capability)
    mailbox = link_mailbox(
        people.admin,
        host="127.0.0.1",
        port=odd.port,
        security="none",
        username="ada",
        password="pw",
    )
    with pytest.raises(MailboxError, match="did not answer as an IMAP server"):
        check_mailbox(mailbox)


def test_a_long_garbage_imap_answer_is_cut_to_a_clean_reason(app, people, banner_server):
    noisy = banner_server(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n", tagged_no)
    mailbox = link_mailbox(
        people.admin,
        host="127.0.0.1",
        port=noisy.port,
        security="none",
        username="ada",
        password="pw",
    )
    with pytest.raises(MailboxError) as failed:
        check_mailbox(mailbox)
    reason = str(failed.value)
    assert reason.startswith(f"127.0.0.1:{noisy.port} refused the login of ada: Anmeldung fur")
    assert reason.endswith("...") and is_clean(reason, 220)


def test_tls_is_verified_against_the_host_name_while_connecting_to_the_checked_address(
    app, smtps_server
):
    app.config["ALLOWED_MAIL_HOSTS"] = "localhost, 127.0.0.1"
    by_name = add_server(smtps_server.port, host="localhost", security="tls")
    assert servers.send_test(by_name, "ada@example.com").startswith("250")
    by_address = add_server(smtps_server.port, security="tls")  # not in the certificate
    with pytest.raises(TemporaryFailure, match="certificate"):
        servers.send_test(by_address, "ada@example.com")

"""Copies of sent mail in the sender's own mailbox: a real Dovecot, a real SMTP server.

Mail goes out through the real ``deliver_batch``, which keeps the exact bytes
it sent (``record_copy``); ``append_due_copies`` then stores them in Dovecot.
"""

import imaplib
from datetime import UTC, datetime, timedelta

import pytest
from support import csrf_token, free_port, log_in, send_welcome

from designer.clock import utcnow
from designer.crypto import decrypt, encrypt
from designer.extensions import db
from designer.mail import imap as imap_client
from designer.mail import sentcopy
from designer.mail.imap import MailboxError
from designer.mail.mailbox import check_mailbox, link_mailbox, mailbox_for, unlink_mailbox
from designer.mail.models import Mailbox, SentCopy


def link(user, imap, login="ada", **changes):
    fields = {
        "host": imap.host,
        "port": imap.port,
        "security": "none",
        "username": login,
        "password": imap.users[login],
    }
    fields.update(changes)
    return link_mailbox(user, **fields)


def sent(welcome, people, smtp_server):
    """Send ``welcome`` to Jan as the admin; return (message, its copy, the bytes received)."""
    message = send_welcome(welcome, people)
    raw = smtp_server.handler.received[-1].original_content
    copy = db.session.scalar(db.select(SentCopy).where(SentCopy.message_id == message.id))
    return message, copy, raw


def make_due(copy):
    db.session.refresh(copy)
    copy.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def internal_date(imap, user, folder):
    with imap.session(user) as conn:
        conn.select(f'"{folder}"', readonly=True)
        _, data = conn.fetch("1", "(INTERNALDATE)")
    stamp = imaplib.Internaldate2tuple(data[0])
    return datetime(*stamp[:6], tzinfo=UTC).astimezone(UTC) if stamp else None


def test_the_exact_bytes_sent_land_in_the_folder_flagged_sent(
    smtp_app, smtp_server, welcome, people, imap
):
    link(people.admin, imap)
    message, copy, raw = sent(welcome, people, smtp_server)
    assert copy.state == "pending" and copy.raw == raw  # kept by delivery, not sent to IMAP yet
    again = sentcopy.record_copy(message, b"again", mailbox_for(people.admin))
    assert again == copy  # one copy per message

    assert sentcopy.append_due_copies() == 1

    [(flags, stored)] = imap.messages("ada", "Sent Items")
    assert stored == raw
    assert b"\\Seen" in flags
    assert imap.messages("ada", "INBOX") == []
    sent_at = message.sent_at.replace(tzinfo=UTC)
    assert abs(internal_date(imap, "ada", "Sent Items") - sent_at) < timedelta(seconds=1)
    state = sentcopy.copy_state(message)
    assert state["state"] == "done" and state["folder"] == "Sent Items"
    assert state["attempts"] == 1 and state["last_error"] == "" and state["appended_at"]
    db.session.refresh(copy)
    assert copy.raw is None
    assert sentcopy.append_due_copies() == 0
    assert len(imap.messages("ada", "Sent Items")) == 1


def test_a_refused_login_never_fails_or_repeats_the_send(
    smtp_app, smtp_server, welcome, people, imap
):
    link(people.admin, imap, password="not-the-password")
    message, copy, raw = sent(welcome, people, smtp_server)
    assert message.state == "sent"

    assert sentcopy.append_due_copies() == 0
    db.session.refresh(copy)
    assert copy.state == "pending" and copy.attempts == 1
    assert "[AUTHENTICATIONFAILED] Authentication failed." in copy.last_error
    assert utcnow() + timedelta(seconds=50) < copy.next_attempt_at
    assert copy.next_attempt_at < utcnow() + timedelta(seconds=70)
    assert sentcopy.copy_state(message)["state"] == "pending"
    assert sentcopy.append_due_copies() == 0  # not due yet: nothing tried
    db.session.refresh(copy)
    assert copy.attempts == 1

    link(people.admin, imap, password=imap.users["ada"])  # saving makes it due again
    assert sentcopy.append_due_copies() == 1
    [(_, stored)] = imap.messages("ada", "Sent Items")
    assert stored == raw
    db.session.refresh(message)
    assert message.state == "sent"
    assert len(smtp_server.handler.received) == 1
    assert sentcopy.copy_state(message)["attempts"] == 2


def test_one_login_per_mailbox_per_run(smtp_app, smtp_server, welcome, people, imap):
    link(people.admin, imap, password="not-the-password")
    _, first, _ = sent(welcome, people, smtp_server)
    _, second, _ = sent(welcome, people, smtp_server)
    offset = imap.log_size()
    assert sentcopy.append_due_copies() == 0
    assert imap.log_since(offset).count("auth failed") == 1  # not once per copy
    for copy in (first, second):
        db.session.refresh(copy)
        assert copy.attempts == 1 and "AUTHENTICATIONFAILED" in copy.last_error

    link(people.admin, imap)
    offset = imap.log_size()
    assert sentcopy.append_due_copies() == 2
    assert imap.log_since(offset).count("Login: user=<ada>") == 1
    assert len(imap.messages("ada", "Sent Items")) == 2


def test_retries_back_off_then_give_up_and_saving_revives_them(
    smtp_app, smtp_server, welcome, people, imap
):
    assert [sentcopy.retry_delay(n) for n in (1, 2, 3, 6, 7, 10)] == [
        60,
        120,
        240,
        1920,
        3600,
        3600,
    ]
    link(people.admin, imap, port=free_port())  # nothing listens there
    message, copy, _ = sent(welcome, people, smtp_server)
    assert sentcopy.append_copy(copy.id) == "pending"
    db.session.refresh(copy)
    assert "Connection refused" in copy.last_error
    copy.attempts = smtp_app.config["SENT_COPY_MAX_ATTEMPTS"] - 1
    db.session.commit()
    make_due(copy)
    assert sentcopy.append_copy(copy.id) == "failed"
    db.session.refresh(copy)
    assert copy.attempts == 10 and copy.next_attempt_at is None and copy.raw
    assert sentcopy.append_due_copies() == 0

    link(people.admin, imap)
    assert sentcopy.append_due_copies() == 1
    assert sentcopy.copy_state(message)["state"] == "done"
    assert len(imap.messages("ada", "Sent Items")) == 1


def test_a_claimed_copy_is_not_appended_twice(smtp_app, smtp_server, welcome, people, imap):
    link(people.admin, imap)
    _, copy, raw = sent(welcome, people, smtp_server)
    # An earlier try stored it, but its answer was lost (the connection broke).
    with imap.session("ada") as conn:
        conn.append('"Sent Items"', r"(\Seen)", None, raw)
    copy.last_error = "the connection broke"
    db.session.commit()
    assert sentcopy.append_copy(copy.id) == "done"
    assert len(imap.messages("ada", "Sent Items")) == 1

    _, second, _ = sent(welcome, people, smtp_server)
    second.next_attempt_at = utcnow() + timedelta(minutes=5)  # another worker holds it
    db.session.commit()
    assert sentcopy.append_copy(second.id) == "pending"
    assert len(imap.messages("ada", "Sent Items")) == 1


def test_no_mailbox_no_copy(smtp_app, smtp_server, welcome, people):
    message, copy, _ = sent(welcome, people, smtp_server)
    assert copy is None and sentcopy.copy_state(message) is None
    assert sentcopy.append_due_copies() == 0


def test_the_periodic_job_appends_due_copies(smtp_app, smtp_server, welcome, people, imap):
    from workers import jobs

    link(people.admin, imap)
    sent(welcome, people, smtp_server)
    assert jobs.append_sent_copies() == {"appended": 1}
    assert len(imap.messages("ada", "Sent Items")) == 1


# The Sent folder ----------------------------------------------------------------------


def mailbox_of(user, imap, login):
    return Mailbox(
        user_id=user.id,
        host=imap.host,
        port=imap.port,
        security="none",
        username=login,
        password_encrypted=encrypt(imap.users[login]),
    )


def test_sent_folder_is_configured_flagged_or_created(app, people, imap):
    with imap_client.connect(mailbox_of(people.admin, imap, "ada")) as conn:
        assert imap_client.find_sent_folder(conn) == "Sent Items"  # flagged \Sent
        assert imap_client.find_sent_folder(conn, "My sent mail") == "My sent mail"
    assert "Sent" not in imap.folders("bob")
    with imap_client.connect(mailbox_of(people.admin, imap, "bob")) as conn:
        assert imap_client.find_sent_folder(conn) == "Sent"  # nothing flagged: created
        assert imap_client.find_sent_folder(conn) == "Sent"  # found the second time
    assert "Sent" in imap.folders("bob")


def test_a_configured_folder_is_created_on_the_first_copy(
    smtp_app, smtp_server, welcome, people, imap
):
    link(people.admin, imap, login="bob", sent_folder="Éléments envoyés")
    message, _, raw = sent(welcome, people, smtp_server)
    assert check_mailbox(mailbox_for(people.admin)) == (
        "Connected; copies go to the folder “Éléments envoyés”, created with the first copy."
    )
    assert sentcopy.append_due_copies() == 1
    assert "&AMk-l&AOk-ments envoy&AOk-s" in imap.folders("bob")  # modified UTF-7
    [(_, stored)] = imap.messages("bob", "&AMk-l&AOk-ments envoy&AOk-s")
    assert stored == raw
    assert sentcopy.copy_state(message)["folder"] == "Éléments envoyés"


def test_check_mailbox_says_what_happened(app, people, imap):
    mailbox = link(people.admin, imap)
    assert check_mailbox(mailbox) == "Connected; copies go to the folder “Sent Items”."
    mailbox = link(people.admin, imap, password="wrong")
    with pytest.raises(
        MailboxError,
        match=r"refused the login of ada: "
        r"\[AUTHENTICATIONFAILED\]",
    ):
        check_mailbox(mailbox)
    mailbox = link(people.admin, imap, port=free_port())
    with pytest.raises(MailboxError, match=r"cannot connect to .*Connection refused"):
        check_mailbox(mailbox)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_is_verified(app, people, imap, monkeypatch, security):
    port = imap.imaps_port if security == "tls" else imap.port
    mailbox = link(people.admin, imap, security=security, port=port)
    with pytest.raises(MailboxError, match="certificate is not trusted"):
        check_mailbox(mailbox)
    monkeypatch.setenv("SSL_CERT_FILE", imap.cafile)  # trust the test server's certificate
    assert check_mailbox(mailbox) == "Connected; copies go to the folder “Sent Items”."


def test_link_mailbox_validates_and_encrypts(app, people):
    with pytest.raises(ValueError, match="not a host name"):
        link_mailbox(
            people.admin,
            host="imap example.com",
            port=993,
            security="tls",
            username="ada",
            password="x",
        )
    with pytest.raises(ValueError, match="port must be a number"):
        link_mailbox(
            people.admin,
            host="imap.example.com",
            port="99999",
            security="tls",
            username="ada",
            password="x",
        )
    with pytest.raises(ValueError, match="Security must be"):
        link_mailbox(
            people.admin,
            host="imap.example.com",
            port=993,
            security="ssl",
            username="ada",
            password="x",
        )
    with pytest.raises(ValueError, match="password"):
        link_mailbox(
            people.admin,
            host="imap.example.com",
            port=993,
            security="tls",
            username="ada",
            password="",
        )
    mailbox = link_mailbox(
        people.admin,
        host="imap.example.com",
        port="",
        security="tls",
        username="ada",
        password="s3cret",
    )
    assert mailbox.port == 993 and mailbox.password_encrypted != "s3cret"
    assert decrypt(mailbox.password_encrypted) == "s3cret"
    link_mailbox(
        people.admin,
        host="imap.example.com",
        port=143,
        security="starttls",
        username="ada",
        password="",
    )
    assert decrypt(mailbox.password_encrypted) == "s3cret"  # empty keeps it
    assert unlink_mailbox(people.admin) is True
    assert mailbox_for(people.admin) is None


# The settings page --------------------------------------------------------------------


def form(imap, action="save", **changes):
    data = {
        "host": imap.host,
        "port": str(imap.port),
        "security": "none",
        "username": "ada",
        "password": imap.users["ada"],
        "sent_folder": "",
        "action": action,
    }
    data.update(changes)
    return data


def post(client, data):
    data = dict(data, csrf_token=csrf_token(client, "/settings/mailbox"))
    return client.post("/settings/mailbox", data=data, follow_redirects=True)


def test_settings_page_needs_a_login(client, mailbox_pages, people):
    response = client.get("/settings/mailbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_settings_page_saves_tests_and_removes(client, mailbox_pages, people, imap):
    log_in(client, "ada@example.com", "secret")
    page = " ".join(client.get("/settings/mailbox").get_data(as_text=True).split())
    assert "appears in its Sent folder" in page and "Stored encrypted" in page
    assert 'name="csrf_token"' in page

    page = post(client, form(imap)).get_data(as_text=True)
    assert "Mailbox saved." in page
    stored = db.session.scalar(db.select(Mailbox))
    assert stored.password_encrypted != imap.users["ada"]
    assert decrypt(stored.password_encrypted) == imap.users["ada"]

    response = post(client, form(imap, action="test", password=""))
    assert response.status_code == 200
    assert "Connected; copies go to the folder “Sent Items”." in response.get_data(as_text=True)

    response = post(client, form(imap, action="test", port=str(free_port())))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "the connection test failed" in page and "Connection refused" in page

    response = post(client, form(imap, action="test", host="imap.nowhere.invalid"))
    assert response.status_code == 200
    assert "the connection test failed" in response.get_data(as_text=True)

    response = post(client, form(imap, host="not a host!"))
    assert response.status_code == 400 and "is not a host name" in response.get_data(as_text=True)

    token = csrf_token(client, "/settings/mailbox")
    response = client.post(
        "/settings/mailbox/remove", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Mailbox removed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(db.select(Mailbox)) is None
    assert db.session.scalar(db.select(SentCopy)) is None


def test_settings_page_refuses_a_post_without_csrf_token(client, mailbox_pages, people, imap):
    log_in(client, "ada@example.com", "secret")
    assert client.post("/settings/mailbox", data=form(imap)).status_code == 400


def test_list_answers_with_quotes_literals_and_modified_utf7():
    data = [
        b'(\\HasNoChildren \\Sent) "/" "Sent Items"',
        (b'(\\HasNoChildren) "." {13}', b'Verzonden "x"'),
        b"",
        b"(\\Noselect) NIL Archief",
        b'(\\Sent) "/" "&AMk-l&AOk-ments envoy&AOk-s &- co"',
        b'(\\HasNoChildren) "/" "Quote \\"d\\""',
    ]
    assert imap_client._parse_list(data) == [
        imap_client.Folder("Sent Items", frozenset({"\\hasnochildren", "\\sent"})),
        imap_client.Folder('Verzonden "x"', frozenset({"\\hasnochildren"})),
        imap_client.Folder("Archief", frozenset({"\\noselect"})),
        imap_client.Folder("Éléments envoyés & co", frozenset({"\\sent"})),
        imap_client.Folder('Quote "d"', frozenset({"\\hasnochildren"})),
    ]
    for name in ("Éléments envoyés & co", "送信済み", "Sent"):
        assert imap_client._from_imap_utf7(imap_client._to_imap_utf7(name)) == name
    encoded = imap_client._to_imap_utf7("Éléments envoyés & co")
    assert encoded == "&AMk-l&AOk-ments envoy&AOk-s &- co"

"""More To addresses, Cc and Bcc on a ledger row, delivered in one SMTP transaction against a
real server on loopback: Cc in the headers, Bcc in the envelope only."""

import pytest
from aiosmtpd.controller import Controller
from support import free_port

from designer import mail
from designer.extensions import db
from designer.mail import consent, ledger
from designer.mail.copies import MAX_COPIES, AddressesInvalid, parse_addresses
from designer.mail.models import Message, SentCopy


def compose(welcome, people, **copies):
    message = mail.new_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, **copies
    )
    ledger.queue_messages([message])
    return message


def test_cc_is_in_the_headers_and_bcc_only_in_the_envelope(
    smtp_app, smtp_server, welcome, people, run_worker_burst
):
    message = compose(
        welcome,
        people,
        to_extra=["office@devries.example"],
        cc=["ann@example.com", "piet@example.com"],
        bcc=["archive@example.com"],
    )
    run_worker_burst()
    db.session.refresh(message)
    assert message.state == "sent", message.last_error
    [envelope] = smtp_server.handler.received
    assert envelope.rcpt_tos == [
        "jan@devries.example",
        "office@devries.example",
        "ann@example.com",
        "piet@example.com",
        "archive@example.com",
    ]
    [received] = smtp_server.handler.messages()
    assert [a.addr_spec for a in received["To"].addresses] == [
        "jan@devries.example",
        "office@devries.example",
    ]
    assert [a.addr_spec for a in received["Cc"].addresses] == [
        "ann@example.com",
        "piet@example.com",
    ]
    assert received["Bcc"] is None
    assert b"archive@example.com" not in envelope.original_content


def test_the_message_page_and_the_history_show_cc_and_bcc(admin_client, welcome, people):
    message = compose(welcome, people, cc=["ann@example.com"], bcc=["archive@example.com"])
    page = admin_client.get(f"/messages/{message.id}").get_data(as_text=True)
    assert "ann@example.com" in page and "archive@example.com" in page
    assert "other recipients do not see" in page
    history = admin_client.get(f"/contacts/{people.jan.id}").get_data(as_text=True)
    assert "Cc: ann@example.com" in history and "Bcc: archive@example.com" in history
    api = admin_client.get(f"/api/v1/messages/{message.id}").get_json()
    assert api["cc"] == ["ann@example.com"] and api["bcc"] == ["archive@example.com"]


def test_the_senders_own_copy_keeps_the_bcc(smtp_app, smtp_server, welcome, people):
    from designer.mail.models import Mailbox

    db.session.add(Mailbox(user_id=people.admin.id, host="127.0.0.1", username="ada"))
    db.session.commit()
    message = compose(welcome, people, bcc=["archive@example.com"])
    assert mail.deliver_batch([message.id])["sent"] == 1
    copy = db.session.scalar(db.select(SentCopy).where(SentCopy.message_id == message.id))
    assert copy.raw.startswith(b"Bcc: archive@example.com\r\n")
    assert b"Bcc" not in smtp_server.handler.received[0].original_content


class RefusingHandler:
    """Refuses RCPT for addresses at refused.example; keeps the envelopes it accepts."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 2.0.0 OK queued"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_server(app):
    handler = RefusingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    yield controller
    controller.stop()


def test_a_refused_copy_does_not_stop_the_message(refusing_server, welcome, people):
    message = compose(welcome, people, cc=["gone@refused.example", "ann@example.com"])
    assert mail.deliver_batch([message.id])["sent"] == 1
    db.session.refresh(message)
    assert message.state == "sent" and "gone@refused.example" in message.smtp_reply
    [envelope] = refusing_server.handler.received
    assert envelope.rcpt_tos == ["jan@devries.example", "ann@example.com"]
    # The record's own address was not refused: nothing is suppressed for the copy's answer.
    assert consent.suppression_of("jan@devries.example") is None


def test_the_record_refused_fails_the_message(refusing_server, welcome, people):
    people.jan.email = "jan@refused.example"
    db.session.commit()
    message = compose(welcome, people, cc=["ann@example.com"])
    assert mail.deliver_batch([message.id])["failed"] == 1
    assert refusing_server.handler.received == []


def test_suppressed_copies_are_left_out_of_marketing_mail(smtp_app, smtp_server, welcome, people):
    mail.suppress("ann@example.com", reason="unsubscribed")
    message = compose(welcome, people, cc=["ann@example.com", "piet@example.com"])
    assert mail.deliver_batch([message.id])["sent"] == 1
    [envelope] = smtp_server.handler.received
    assert envelope.rcpt_tos == ["jan@devries.example", "piet@example.com"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("ann@example.com\r\nBcc: x@y.example", "“Bcc:” is not an e-mail address"),
        ("ann@example.com, not-an-address", "“not-an-address” is not an e-mail address"),
        ("a@b", "the domain has no dot"),
        (",".join(f"p{i}@example.com" for i in range(MAX_COPIES + 1)), "at most 20"),
        ("x" * 10_000, "too long"),
    ],
)
def test_bad_copies_are_refused_with_the_reason(text, problem):
    with pytest.raises(AddressesInvalid, match=problem):
        parse_addresses(text, "Cc")


def test_copies_are_split_and_kept_once():
    assert parse_addresses(" a@example.com;b@example.com\na@example.com ") == [
        "a@example.com",
        "b@example.com",
    ]
    assert parse_addresses("") == []


def test_the_ledger_refuses_a_header_break_in_a_copy(welcome, people):
    with pytest.raises(AddressesInvalid):
        mail.new_message(
            welcome,
            module="contact",
            record=people.jan,
            sender_user=people.admin,
            cc=["ann@example.com\r\nX-Evil: 1"],
        )
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0

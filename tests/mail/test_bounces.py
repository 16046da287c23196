"""Bounces read from a real Dovecot mailbox, matched by VERP or Message-ID, and 5xx at send."""

import imaplib
import re
import time
from pathlib import Path

import pytest
from support import csrf_token, log_in

from designer import mail
from designer.extensions import db
from designer.mail import bounces
from designer.mail.imap import MailboxError
from designer.mail.models import Bounce
from designer.records import Contact

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dsn"
ENVELOPE = "bounces@designer.example"  # as the ``bounce_box`` fixture sets it


@pytest.fixture
def sent_three(bounce_box, smtp_server, welcome, people):
    """Three messages sent (to Jan, Emma and Piet), each with its VERP envelope sender."""
    piet = Contact(
        first_name="Piet",
        last_name="Jansen",
        email="piet@jansen.example",
        language="nl",
        organisation=people.org,
    )
    db.session.add(piet)
    db.session.commit()
    messages = [
        mail.queue_message(
            welcome.current,
            module="contact",
            record=contact,
            sender_user=people.admin,
            enqueue=False,
        )
        for contact in (people.jan, people.emma, piet)
    ]
    assert mail.deliver_batch([m.id for m in messages])["sent"] == 3
    for message in messages:
        db.session.refresh(message)
    return messages


def dsn(name, *, recipient, verp=None, message_id=None):
    """A fixture DSN rewritten to report on one of our messages: its address, and its VERP
    envelope (else the plain envelope sender) and/or its Message-ID."""
    raw = (FIXTURES / name).read_text()
    old_recipient = {
        "postfix-hard.eml": "jan.novak@example.org",
        "exchange-hard.eml": "martin.horak@contoso.example",
        "gmail-mailbox-full.eml": "tomas.bartos@example.net",
    }
    old_id = {
        "postfix-hard.eml": "49be7c69e236611513c971d674b584.4182@designer.example",
        "exchange-hard.eml": "202d4ed659bdc698172994e9905179.4233@designer.example",
        "gmail-mailbox-full.eml": "af64197e7a0e7f56cbc4002c56b645.4265@designer.example",
    }
    raw = re.sub(r"bounces\+[a-z0-9]+@designer\.example", verp or ENVELOPE, raw)
    raw = raw.replace(old_recipient[name], recipient)
    if message_id:
        raw = raw.replace(old_id[name], message_id.strip("<>"))
    return raw.encode()


def deliver_to_box(imap, *raws):
    with imap.session("ada") as conn:
        for raw in raws:
            typ, data = conn.append("INBOX", None, imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK", data


def test_messages_go_out_with_a_signed_verp_envelope(sent_three, smtp_server):
    first = sent_three[0]
    envelope = smtp_server.handler.received[0].mail_from
    assert envelope == bounces.verp_address(ENVELOPE, first.id)
    assert envelope.startswith("bounces+") and envelope.endswith("@designer.example")
    assert bounces.message_id_from_verp(envelope) == first.id
    forged = envelope.replace(f"+{first.id}-", f"+{first.id + 1}-")
    assert bounces.message_id_from_verp(forged) is None
    assert bounces.message_id_from_verp(ENVELOPE) is None


def test_polled_bounces_suppress_hard_and_count_soft(sent_three, bounce_box):
    jan, emma, piet = sent_three
    deliver_to_box(
        bounce_box,
        dsn(
            "postfix-hard.eml",
            recipient=jan.recipient_email,
            verp=bounces.verp_address(ENVELOPE, jan.id),
        ),
        dsn("exchange-hard.eml", recipient=emma.recipient_email, message_id=emma.message_id),
        dsn(
            "gmail-mailbox-full.eml",
            recipient=piet.recipient_email,
            verp=bounces.verp_address(ENVELOPE, piet.id),
        ),
        (FIXTURES / "out-of-office.eml").read_bytes(),
    )
    assert bounces.poll() == {"read": 4, "bounces": 3, "unsubscribes": 0}
    for message in sent_three:
        db.session.refresh(message)
    assert (jan.bounce, emma.bounce, piet.bounce) == ("hard", "hard", "soft")
    assert mail.is_suppressed(jan.recipient_email)
    assert mail.is_suppressed(emma.recipient_email)  # matched by Message-ID alone
    assert not mail.is_suppressed(piet.recipient_email)
    assert all(rb"\Seen" in flags for flags, _ in bounce_box.messages("ada", "INBOX"))
    assert bounces.poll() == {"read": 0, "bounces": 0, "unsubscribes": 0}  # each mail is read once


def test_soft_bounces_suppress_at_the_limit(sent_three, bounce_box):
    piet = sent_three[2]
    bounces.save_bounce_settings(
        host=bounce_box.host,
        port=bounce_box.port,
        security="none",
        username="ada",
        password="",
        soft_threshold=2,
    )
    report = dsn(
        "gmail-mailbox-full.eml",
        recipient=piet.recipient_email,
        verp=bounces.verp_address(ENVELOPE, piet.id),
    )
    deliver_to_box(bounce_box, report)
    bounces.poll()
    assert not mail.is_suppressed(piet.recipient_email)
    deliver_to_box(bounce_box, report)
    bounces.poll()
    assert mail.is_suppressed(piet.recipient_email)
    kinds = db.session.scalars(
        db.select(Bounce.kind).where(Bounce.email == piet.recipient_email)
    ).all()
    assert kinds == ["soft", "soft"]


def test_an_unmatched_bounce_still_suppresses_the_address(bounce_box):
    deliver_to_box(bounce_box, dsn("postfix-hard.eml", recipient="gone@nowhere.example"))
    assert bounces.poll()["bounces"] == 1
    assert mail.is_suppressed("gone@nowhere.example")
    assert db.session.scalar(db.select(Bounce.message_id)) is None


@pytest.mark.parametrize(
    ("answer", "kind", "suppressed"),
    [
        ("550 5.1.1 <jan@devries.example>: Recipient address rejected: User unknown", "hard", True),
        ("552 5.2.2 Mailbox full", "soft", False),
        ("554 Transaction failed", "hard", True),
    ],
)
def test_a_5xx_at_send_is_a_bounce(
    smtp_app, smtp_server, welcome, people, answer, kind, suppressed
):
    message = mail.queue_message(
        welcome.current,
        module="contact",
        record=people.jan,
        sender_user=people.admin,
        enqueue=False,
    )
    smtp_server.handler.answers.append(answer)
    assert mail.deliver_batch([message.id])["failed"] == 1
    db.session.refresh(message)
    assert message.state == "failed" and message.bounce == kind
    assert mail.is_suppressed(people.jan.email) is suppressed
    bounce = db.session.scalar(db.select(Bounce))
    assert bounce.source == "smtp" and bounce.message_id == message.id


def test_wrong_mailbox_password_is_a_clear_error(bounce_box):
    bounces.save_bounce_settings(
        host=bounce_box.host,
        port=bounce_box.port,
        security="none",
        username="ada",
        password="wrong",
    )
    with pytest.raises(MailboxError, match="refused the login"):
        bounces.poll()


def test_settings_page_is_for_admins_and_explains_bad_input(app, client, people, imap):
    ada = log_in(client, "ada@example.com", "secret")
    page = ada.get("/settings/bounces")
    assert page.status_code == 200 and "Soft bounce limit" in page.text
    response = ada.post(
        "/settings/bounces",
        data={
            "host": imap.host,
            "port": "99999",
            "security": "none",
            "username": "ada",
            "password": "x",
            "soft_threshold": "3",
            "csrf_token": csrf_token(ada, "/settings/bounces"),
        },
    )
    assert response.status_code == 400 and "port must be a number" in response.text
    response = ada.post(
        "/settings/bounces",
        data={
            "host": imap.host,
            "port": str(imap.port),
            "security": "none",
            "username": "ada",
            "password": imap.users["ada"],
            "soft_threshold": "0",
            "csrf_token": csrf_token(ada, "/settings/bounces"),
        },
    )
    assert response.status_code == 400 and "soft bounce limit" in response.text
    response = ada.post(
        "/settings/bounces",
        data={
            "host": imap.host,
            "port": str(imap.port),
            "security": "none",
            "username": "ada",
            "password": imap.users["ada"],
            "soft_threshold": "3",
            "action": "check",
            "csrf_token": csrf_token(ada, "/settings/bounces"),
        },
        follow_redirects=True,
    )
    assert "Read 0 new mail" in response.text
    assert bounces.configured()

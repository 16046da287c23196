"""The ``mailto:`` of List-Unsubscribe: a request mailed to it lands in the bounce mailbox
(a real Dovecot), the reader suppresses the recipient; forged requests change nothing."""

import imaplib
import logging
import re
import time
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from designer import campaigns, mail
from designer.extensions import db
from designer.mail import bounces, suppression
from designer.mail.models import Suppression

DUTCH = [{"field": "contact.language", "op": "eq", "value": "nl"}]


@pytest.fixture
def campaign_mail(bounce_box, smtp_server, welcome, people):
    """A campaign sent to Jan (the only Dutch contact): ``(campaign, received mail)``."""
    segment = campaigns.create_segment("Dutch contacts", DUTCH)
    campaign = campaigns.create_campaign(
        "Spring", template=welcome, segment=segment, sender=people.admin
    )
    campaigns.start(campaign)
    ids = db.session.scalars(db.select(mail.Message.id).where(mail.Message.state == "queued"))
    assert mail.deliver_batch(list(ids), campaigns.sending_gate)["sent"] == 1
    [received] = smtp_server.handler.messages()
    return campaign, received


def mailto_of(received):
    """``(address, subject)`` of the mail's List-Unsubscribe mailto."""
    mailto = re.search(r"<mailto:([^>]+)>", received["List-Unsubscribe"]).group(1)
    parts = urlsplit("mailto:" + mailto)
    return unquote(parts.path), parse_qs(parts.query)["subject"][0]


def request(to, subject, sender="Jan de Vries <jan@devries.example>", **headers):
    """An unsubscribe mail as a mail program writes it from the mailto."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("This message was automatically generated to unsubscribe.")
    return bytes(message)


def deliver(imap, *raws):
    with imap.session("ada") as conn:
        for raw in raws:
            typ, data = conn.append("INBOX", None, imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK", data


def suppressions():
    rows = db.session.scalars(db.select(Suppression)).all()
    return {row.email: (row.reason, row.campaign_id) for row in rows}


def test_the_mailto_carries_a_signed_token(campaign_mail):
    _, received = campaign_mail
    address, subject = mailto_of(received)
    assert address == "unsubscribe@example.com"  # the sender's domain
    token = subject.removeprefix("unsubscribe ")
    assert suppression.parse_unsubscribe_token(token) is not None


def test_a_mailed_request_suppresses_the_recipient(campaign_mail, bounce_box, people):
    campaign, received = campaign_mail
    address, subject = mailto_of(received)
    deliver(bounce_box, request(address, subject))
    assert bounces.poll() == {"read": 1, "bounces": 0, "unsubscribes": 1}
    assert suppressions() == {"jan@devries.example": ("unsubscribed", campaign.id)}
    [(flags, _)] = bounce_box.messages("ada", "INBOX")
    assert rb"\Seen" in flags  # marked: read once
    assert bounces.poll() == {"read": 0, "bounces": 0, "unsubscribes": 0}


def test_the_token_may_be_in_the_address_and_a_reply_prefix_is_fine(campaign_mail, bounce_box):
    _, received = campaign_mail
    address, subject = mailto_of(received)
    token = subject.removeprefix("unsubscribe ")
    deliver(bounce_box, request(address.replace("@", f"+{token}@"), "Please remove me"))
    assert bounces.poll()["unsubscribes"] == 1
    assert "jan@devries.example" in suppressions()
    db.session.execute(db.delete(Suppression))
    db.session.commit()
    deliver(bounce_box, request(address, f"Re: unsubscribe {token}"))
    assert bounces.poll()["unsubscribes"] == 1
    assert "jan@devries.example" in suppressions()


def test_another_from_with_a_valid_token_unsubscribes_the_recipient(
    campaign_mail, bounce_box, caplog
):
    _, received = campaign_mail
    address, subject = mailto_of(received)
    deliver(bounce_box, request(address, subject, sender="j.devries@alias.example"))
    with caplog.at_level(logging.WARNING, logger="designer.mail.unsubscribe_mail"):
        assert bounces.poll()["unsubscribes"] == 1
    assert set(suppressions()) == {"jan@devries.example"}
    assert "from j.devries@alias.example" in caplog.text
    assert "unsubscribing its recipient jan@devries.example" in caplog.text


def test_forged_and_malformed_requests_change_nothing_and_are_logged(
    campaign_mail, bounce_box, caplog
):
    _, received = campaign_mail
    address, subject = mailto_of(received)
    token = subject.removeprefix("unsubscribe ")
    message_token, _, signature = token.partition(".")
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    other = "A" * len(message_token)
    deliver(
        bounce_box,
        request(address, f"unsubscribe {message_token}.{flipped}"),  # signature changed
        request(address, f"unsubscribe {other}.{suppression.unsubscribe_token(other)[-20:]}"),
        request(address, f"unsubscribe {suppression.unsubscribe_token(other)}"),  # no message
        request(address, "unsubscribe ../../etc/passwd"),
        request(address, "unsubscribe é²" + "x" * 5000),
        request(address, "unsubscribe"),
        request(address, "Unsubscribe me please"),
        request(address, "Please take me off your list"),  # to the address, no token
        request(address, f"unsubscribe {message_token}", sender="mallory@evil.example"),
        request(address, subject, Auto_Submitted="auto-replied"),
    )
    with caplog.at_level(logging.WARNING, logger="designer.mail.unsubscribe_mail"):
        found = bounces.poll()
    assert found == {"read": 10, "bounces": 0, "unsubscribes": 0}
    assert suppressions() == {}
    ignored = [r for r in caplog.records if r.getMessage().startswith("unsubscribe mail ignored")]
    assert len(ignored) == 10
    assert "is not ours" in caplog.text and "names no message" in caplog.text
    assert "came from mallory@evil.example" in caplog.text
    assert "automatic reply" in caplog.text
    assert all(rb"\Seen" in flags for flags, _ in bounce_box.messages("ada", "INBOX"))


def test_a_bare_token_of_older_mail_counts_from_the_recipient_only(campaign_mail, bounce_box):
    _, received = campaign_mail
    address, subject = mailto_of(received)
    message_token = subject.removeprefix("unsubscribe ").partition(".")[0]
    deliver(bounce_box, request(address, f"unsubscribe {message_token}"))
    assert bounces.poll()["unsubscribes"] == 1
    assert "jan@devries.example" in suppressions()


def test_the_bounce_page_names_the_address(client, bounce_box, people):
    from support import log_in

    page = log_in(client, "ada@example.com", "secret").get("/settings/bounces")
    assert "unsubscribe@example.com" in page.text  # the domain of ada@example.com

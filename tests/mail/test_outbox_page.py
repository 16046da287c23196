"""The Outbox and message pages name the From header, the Cc and the attachments."""

import re
import smtplib
from email.message import EmailMessage

import pytest
from support import free_port

from designer import mail
from designer.extensions import db
from designer.mail.catcher import start_catcher
from designer.records.models import Contact, User
from designer.templating import Template

VERP = "bounces+x7f3@northwind.example"


@pytest.fixture
def catcher(app):
    controller = start_catcher(app, port=free_port())
    yield controller
    controller.stop()


def caught(catcher, message, envelope_from=VERP):
    with smtplib.SMTP("127.0.0.1", catcher.port) as smtp:
        smtp.send_message(message, from_addr=envelope_from)
    [item] = mail.outbox_page().rows
    return item


def offer_mail():
    message = EmailMessage()
    message["From"] = "Ada Admin <ada@northwind.example>"
    message["To"] = "jan@devries.example"
    message["Cc"] = "boss@devries.example, inkoop@devries.example"
    message["Subject"] = "Your offer"
    message.set_content("Hello Jan")
    message.add_alternative("<p>Hello Jan</p>", subtype="html")
    message.add_attachment(b"%PDF-1.7 " + b"x" * 3000, "application", "pdf", filename="offer.pdf")
    message.add_attachment(b"a,b\n1,2\n", "text", "csv", filename="prices.csv")
    return message


def test_the_outbox_shows_the_from_header_not_the_bounce_address(catcher, admin_client):
    item = caught(catcher, offer_mail())
    assert item.from_header == "Ada Admin <ada@northwind.example>" and item.mail_from == VERP
    assert item.attachments == [
        {"name": "offer.pdf", "type": "application/pdf", "size": 3009},
        {"name": "prices.csv", "type": "text/csv", "size": 8},
    ]
    listing = " ".join(admin_client.get("/outbox").text.split())
    assert "Ada Admin &lt;ada@northwind.example&gt;" in listing
    assert VERP not in listing
    assert "Cc boss@devries.example, inkoop@devries.example" in listing
    assert "offer.pdf, prices.csv" in listing


def test_an_outbox_message_lists_recipients_attachments_and_where_bounces_go(catcher, admin_client):
    item = caught(catcher, offer_mail())
    page = " ".join(admin_client.get(f"/outbox/{item.id}").text.split())
    assert '<th scope="row">From</th><td class="break">Ada Admin' in page
    assert "boss@devries.example, inkoop@devries.example" in page
    assert 'offer.pdf <span class="muted">(application/pdf, 2.9 KB)</span>' in page
    assert f"<code>{VERP}</code>" in page


def test_a_message_without_attachments_says_none(catcher, admin_client):
    plain = EmailMessage()
    plain["From"], plain["To"], plain["Subject"] = "a@northwind.example", "b@x.example", "Hi"
    plain.set_content("Hi")
    item = caught(catcher, plain, envelope_from="a@northwind.example")
    assert item.attachments == [] and item.cc_header == ""
    page = " ".join(admin_client.get(f"/outbox/{item.id}").text.split())
    assert 'Attachments</th><td class="break"><span class="muted">none' in page
    assert "Bounces go to" not in page  # the envelope sender is the From: nothing to explain


def test_the_message_page_names_the_pdfs_it_attaches(admin_client):
    pdf = db.session.scalar(db.select(Template).where(Template.kind == "pdf"))
    email = db.session.scalar(
        db.select(Template).where(Template.kind == "email", Template.module == "contact")
    )
    contact = db.session.scalar(db.select(Contact).where(Contact.email != ""))
    admin = db.session.scalar(db.select(User).where(User.role == "admin"))
    message = mail.new_message(
        email.current,
        module="contact",
        record=contact,
        sender_user=admin,
        attach_pdf_ids=[pdf.id],
    )
    db.session.add(message)
    db.session.commit()
    page = " ".join(admin_client.get(f"/messages/{message.id}").text.split())
    assert f"Attached PDFs</th><td>{pdf.name} " in page


def test_the_outbox_shows_fifty_at_a_time_with_older_ones_a_link_away(admin_client):
    from designer.mail.models import OutboxMessage

    db.session.add_all(
        OutboxMessage(subject=f"Caught {n:03}", rcpt_to="jan@devries.example", raw=b"x")
        for n in range(1, 61)
    )
    db.session.commit()
    first = admin_client.get("/outbox").text
    assert "Caught 060" in first and "Caught 011" in first and "Caught 010" not in first
    older = re.search(r'href="(/outbox\?before=\d+)">Older e-mails', first).group(1)
    second = admin_client.get(older).text
    assert "Caught 010" in second and "Caught 001" in second and "Caught 011" not in second
    assert "Older e-mails" not in second and "Newest e-mails" in second
    assert "No older e-mails" in admin_client.get("/outbox?before=1").text
    for odd in ("0", "-1", "x", "99999999999"):
        assert "Caught 060" in admin_client.get(f"/outbox?before={odd}").text, odd

"""Standards details seen in delivered mail: a numeric Date zone, the render locale as the
HTML's language, and the https that RFC 8058 one-click unsubscribe needs."""

import re

import pytest
from support import log_in

from designer import mail
from designer.extensions import db
from designer.records import Contact
from designer.templating import create_template

#: RFC 5322 date-time with a numeric zone: ``Thu, 03 Dec 2026 04:51:05 +0000``.
DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}")


def deliver(template, contact, sender, smtp_server):
    message = mail.queue_message(
        template.current, module="contact", record=contact, sender_user=sender, enqueue=False
    )
    assert mail.deliver_batch([message.id])["sent"] == 1
    return smtp_server.handler.messages()[-1]


def html_of(received):
    return received.get_body(("html",)).get_content()


def test_date_has_a_numeric_zone(smtp_app, smtp_server, welcome, people):
    received = deliver(welcome, people.jan, people.admin, smtp_server)
    raw = smtp_server.handler.received[-1].original_content.decode()
    date = re.search(r"^Date: (.*)\r$", raw, re.MULTILINE).group(1)
    assert DATE.fullmatch(date) and date.endswith("+0000")
    assert "GMT" not in date
    assert received["Date"].datetime.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(("language", "tag"), [("nl", "nl"), ("en", "en"), ("de_DE", "de-DE")])
def test_html_lang_is_the_render_locale(smtp_app, smtp_server, welcome, people, language, tag):
    contact = Contact(first_name="Lena", email="lena@example.de", language=language)
    db.session.add(contact)
    db.session.commit()
    html = html_of(deliver(welcome, contact, people.admin, smtp_server))
    assert re.search(rf'<html lang="{tag}"', html)
    assert f'role="article" lang="{tag}"' in html  # MJML's lang on the message itself
    assert 'lang="und"' not in html


def test_plain_html_gets_a_lang_and_an_authors_lang_stays(smtp_app, smtp_server, people):
    plain = create_template(
        "Plain",
        "<html><body><p>Hallo {{ contact.first_name }}</p></body></html>",
        source_type="html",
        user=people.admin,
    )
    assert '<html lang="nl"' in html_of(deliver(plain, people.jan, people.admin, smtp_server))
    french = create_template(
        "French",
        '<mjml lang="fr"><mj-body><mj-section><mj-column><mj-text>Bonjour</mj-text>'
        "</mj-column></mj-section></mj-body></mjml>",
        user=people.admin,
    )
    html = html_of(deliver(french, people.jan, people.admin, smtp_server))
    assert '<html lang="fr"' in html and 'lang="nl"' not in html


def test_sending_page_warns_that_one_click_needs_https(app, client, people):
    admin = log_in(client, "ada@example.com", "secret")
    app.config["PUBLIC_URL"] = "http://crm.example.com"
    page = admin.get("/settings/sending/")
    assert "one-click unsubscribe (RFC 8058) needs an https" in page.text
    assert "http://crm.example.com" in page.text
    app.config["PUBLIC_URL"] = "https://crm.example.com"
    page = admin.get("/settings/sending/")
    assert page.status_code == 200 and "RFC 8058" not in page.text

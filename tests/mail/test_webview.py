"""View in browser: ``/v/<token>`` shows the very message a recipient got, counting nothing;
anything else is a 404."""

import re
from urllib.parse import quote

import pytest

from designer import ROOT, mail, tracking
from designer.extensions import db
from designer.mail import webview
from designer.mail.links import signer_for
from designer.templating import add_version, create_template
from designer.templating.catalogue import catalogue
from designer.tracking.models import TrackingEvent
from designer.workflows.rules import field_names

SOURCE = """<mjml><mj-body><mj-section><mj-column>
  <mj-text><a href="{{ webview_url }}">View this e-mail in your browser</a></mj-text>
  <mj-text>Hello {{ contact.first_name }} of {{ organisation.name }},
    sent {{ now | date }}</mj-text>
  <mj-button href="https://example.com/offer?who={{ contact.first_name }}">Offer</mj-button>
  <mj-button href="https://example.com/start">Start</mj-button>
</mj-column></mj-section></mj-body></mjml>"""
WEBVIEW_LINK = re.compile(r'href="(http://designer\.test/v/[^"]+)"')


@pytest.fixture
def letter(app, people):
    return create_template("Letter", SOURCE, subject="Hi {{ contact.first_name }}")


@pytest.fixture
def sent(smtp_app, smtp_server, letter, people):
    """The letter sent to Jan and Emma: ``{first name: (ledger row, delivered HTML)}``."""
    messages = [
        mail.queue_message(
            letter.current,
            module="contact",
            record=contact,
            sender_user=people.admin,
            enqueue=False,
        )
        for contact in (people.jan, people.emma)
    ]
    assert mail.deliver_batch([m.id for m in messages])["sent"] == 2
    delivered = smtp_server.handler.messages()
    return {
        contact.first_name: (message, received.get_body(("html",)).get_content())
        for contact, message, received in zip(
            (people.jan, people.emma), messages, delivered, strict=True
        )
    }


def path_of(url):
    return url[url.index("/v/") :]


def test_the_mail_carries_an_untracked_webview_link(sent):
    message, html = sent["Jan"]
    [url] = WEBVIEW_LINK.findall(html)
    assert url == webview.webview_url(message.token)
    assert "/c/" + message.token in html  # the other links are tracked in the mail


def test_the_page_shows_that_recipients_merge_and_counts_nothing(client, sent):
    message, html = sent["Jan"]
    response = client.get(path_of(WEBVIEW_LINK.findall(html)[0]))
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = " ".join(response.text.split())
    assert "Hello Jan of Bakkerij De Vries" in page and "Emma" not in page
    assert '<html lang="nl"' in page
    assert "/o/" not in page and "/c/" not in page  # no pixel, plain link targets
    assert "https://example.com/offer?who=Jan" in page
    assert "https://example.com/start" in page
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'none'
    assert response.headers["Referrer-Policy"] == "no-referrer"
    tracking.flush()
    db.session.refresh(message)
    assert (message.open_count, message.click_count) == (0, 0)
    assert db.session.scalar(db.select(db.func.count(TrackingEvent.id))) == 0


def test_the_page_is_the_version_and_moment_it_was_sent_with(client, sent, letter, people):
    _, html = sent["Emma"]
    add_version(letter, SOURCE.replace("Hello", "Goodbye"), subject="New", user=people.admin)
    page = client.get(path_of(WEBVIEW_LINK.findall(html)[0])).text
    assert "Hello Emma" in page and "Goodbye" not in page
    sent_on = re.search(r"sent ([^<]+?)\s*<", " ".join(html.split())).group(1)
    assert f"sent {sent_on}" in " ".join(page.split())


def test_mail_not_sent_and_deleted_records_have_no_web_view(client, sent, letter, people):
    queued = mail.queue_message(
        letter.current,
        module="contact",
        record=people.jan,
        sender_user=people.admin,
        enqueue=False,
    )
    assert client.get(path_of(webview.webview_url(queued.token))).status_code == 404
    message, _ = sent["Emma"]
    message.record_id = 999_999  # the record is gone from the CRM
    db.session.commit()
    response = client.get(path_of(webview.webview_url(message.token)))
    assert response.status_code == 404 and "Message not found" in response.text


def test_tampered_and_odd_tokens_are_404(app, client, sent):
    jan, _ = sent["Jan"]
    emma, _ = sent["Emma"]
    good = path_of(webview.webview_url(jan.token))[3:]
    token, _, signature = good.partition(".")
    pixel = signer_for(app).pixel_url(jan.token).rpartition("/")[2].removesuffix(".gif")
    forged = [
        f"{token}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}",  # one byte changed
        f"{emma.token}.{signature}",  # another message with Jan's signature
        pixel,  # a pixel token is no web view token
        token,
        f"{token}.",
        f"{token}.{signature.upper()}",
        f"{token}.{signature}.x",
        "é" * 40 + "." + signature,
        f"{token}.{'²' * 20}",
        "a" * 10_000 + "." + signature,
        "9" * 6000,
        "..",
    ]
    for candidate in forged:
        response = client.get("/v/" + quote(candidate, safe=""))
        assert response.status_code == 404, candidate[:80]
    assert client.get("/v/" + good).status_code == 200


def test_the_field_catalogue_and_the_starter_newsletter_offer_it(app):
    fields = {field.name: field for field in catalogue("contact")}
    assert fields["webview_url"].label == "Link: view this e-mail in a browser"
    assert "webview_url" in {field.name for field in catalogue("invoice")}
    assert "webview_url" not in field_names("contact")  # no workflow condition on it
    newsletter = (ROOT / "templates_lib" / "email" / "newsletter.mjml").read_text()
    assert 'href="{{ webview_url }}"' in newsletter

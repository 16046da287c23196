"""Click links as delivered: merged at send time, signed, and followed without a merge."""

import re

import pytest

from designer import mail, templating
from designer.extensions import db
from designer.mail.links import LinkSigner, signer_for

OFFER = (
    "https://shop.example.com/offer?who={{ contact.first_name }}&amp;lang={{ contact.language }}"
)
LINKS_MJML = """<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hi {{ contact.first_name }}
    <a href="OFFER">your offer</a>
    <a href="https://example.com/static">static</a></mj-text>
</mj-column></mj-section></mj-body></mjml>
""".replace("OFFER", OFFER)
CLICK = re.compile(r'href="(http://designer\.test(/c/[^"]+))"')


@pytest.fixture
def delivered(smtp_app, smtp_server, people, run_worker_burst):
    """The HTML part of a message really sent over SMTP, and its ledger row."""
    template = templating.create_template("Offer", LINKS_MJML, subject="Offer", user=people.admin)
    message = mail.queue_message(
        template, module="contact", record=people.jan, sender_user=people.admin
    )
    run_worker_burst()
    [received] = smtp_server.handler.messages()
    html = received.get_body(("html",)).get_content()
    return db.session.get(mail.Message, message.id), html


def click_paths(html):
    return [match.group(2) for match in CLICK.finditer(html)]


def test_links_from_the_delivered_mail_redirect_to_their_merged_urls(client, delivered, people):
    _, html = delivered
    dynamic, static = click_paths(html)
    expected = "https://shop.example.com/offer?who=Jan&lang=nl"
    assert client.get(dynamic).headers["Location"] == expected
    assert client.get(static).headers["Location"] == "https://example.com/static"


def test_a_click_goes_where_the_mail_said_even_after_the_record_changed(client, delivered, people):
    _, html = delivered
    dynamic, _ = click_paths(html)
    people.jan.first_name = "Johannes"
    db.session.commit()
    assert "who=Jan&" in client.get(dynamic).headers["Location"]


def test_tokens_signed_with_another_secret_are_refused(app, client, delivered):
    message, _ = delivered
    forger = LinkSigner("another secret", app.config["PUBLIC_URL"])
    for url in (forger.url(message.token, 1), forger.url(message.token, 0, "https://evil.test/")):
        assert client.get(url[url.index("/c/") :]).status_code == 404


def test_a_signature_moved_to_another_message_or_link_is_refused(
    app, client, delivered, welcome, people
):
    message, html = delivered
    other = mail.queue_message(
        welcome, module="contact", record=people.emma, sender_user=people.admin, enqueue=False
    )
    dynamic, static = click_paths(html)
    moved = [
        static.replace(message.token, other.token),
        static.replace(".1.", ".0."),
        dynamic.replace(message.token, other.token),
    ]
    for path in moved:
        assert client.get(path).status_code == 404, path


def test_a_changed_merged_url_is_refused(app, client, delivered):
    _, html = delivered
    dynamic, _ = click_paths(html)
    token, index, _, signature = dynamic[len("/c/") :].split(".")
    evil = signer_for(app).url(token, int(index), "https://evil.test/")
    evil_encoded = evil.rsplit(".", 2)[1]
    assert client.get(f"/c/{token}.{index}.{evil_encoded}.{signature}").status_code == 404


def test_a_merged_target_for_a_link_without_merge_fields_is_ignored(app, client, delivered):
    message, _ = delivered
    url = signer_for(app).url(message.token, 1, "https://evil.test/")
    assert client.get(url[url.index("/c/") :]).headers["Location"] == "https://example.com/static"


def test_links_whose_merge_gives_no_web_address_lead_nowhere(app, client, people):
    source = LINKS_MJML.replace("https://shop.example.com/offer?who=", "{{ contact.notes }}")
    template = templating.create_template("Odd", source, subject="x", user=people.admin)
    message = mail.queue_message(
        template, module="contact", record=people.jan, sender_user=people.admin, enqueue=False
    )
    built = mail.build_message(message).data.decode()
    path = re.search(r"http://designer\.test(/c/[^\"\s]+)", built).group(1)
    assert len(path.split(".")) == 3  # nothing merged to carry: "javascript:…" is not a URL
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("encoded", ["A", "_w"])  # not base64; base64 of a byte not UTF-8
def test_a_link_signed_with_our_key_whose_target_is_no_text_is_refused(app, encoded):
    from designer.mail.links import _signature

    signer = signer_for(app)
    token = f"abc.0.{encoded}.{_signature(signer.secret, 'abc', 0, encoded)}"
    assert signer.parse(token) is None
    plain = f"abc.0.{_signature(signer.secret, 'abc', 0)}"
    assert signer.parse(plain).index == 0  # the same link without a target is ours

"""The recipient's preference page: ``{{ preferences_url }}`` in delivered mail leads to a signed
``/p/<token>`` page (no login) where the recipient picks topics or unsubscribes from all; every
change is audited; anything but a valid token is a 404."""

import re
from urllib.parse import quote

import pytest

from designer import ROOT, mail
from designer.extensions import db
from designer.mail import preferences, topics
from designer.mail.links import signer_for
from designer.mail.models import Suppression, SuppressionEvent
from designer.templating import create_template
from designer.templating.catalogue import catalogue
from designer.workflows.rules import field_names

SOURCE = """<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hello {{ contact.first_name }}</mj-text>
  <mj-button href="https://example.com/start">Start</mj-button>
  <mj-text><a href="{{ preferences_url }}">Your e-mail preferences</a></mj-text>
</mj-column></mj-section></mj-body></mjml>"""
PREFERENCES_LINK = re.compile(r'href="(http://designer\.test/p/[^"]+)"')


@pytest.fixture
def topic_pair(app):
    return topics.add_topic("Newsletter", "Our monthly news"), topics.add_topic("Events", "")


@pytest.fixture
def sent(smtp_app, smtp_server, people, topic_pair):
    """A letter sent to Jan and Emma: ``{first name: (ledger row, preference page path)}``."""
    letter = create_template("Letter", SOURCE, subject="Hi", user=people.admin)
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
    found = {}
    for message, received in zip(messages, smtp_server.handler.messages(), strict=True):
        [url] = PREFERENCES_LINK.findall(received.get_body(("html",)).get_content())
        found[message.recipient_name.split()[0]] = (message, url[url.index("/p/") :])
    return found


def test_the_mail_carries_an_untracked_preference_link(sent):
    message, path = sent["Jan"]
    assert path == "/p/" + preferences.preferences_url(message.token).rpartition("/p/")[2]


def test_the_page_shows_the_masked_address_and_each_active_topic(client, sent, topic_pair):
    newsletter, events = topic_pair
    topics.add_topic("Old", "")
    topics.archive_topic(topics.all_topics()[-1])
    response = client.get(sent["Jan"][1])
    assert response.status_code == 200
    page = " ".join(response.text.split())
    assert "j**@devries.example" in page and "jan@devries.example" not in page
    assert f'id="topic-{newsletter.id}" name="topic" value="{newsletter.id}" checked' in page
    assert f'id="topic-{events.id}" name="topic" value="{events.id}" checked' in page
    assert "Our monthly news" in page and "Old" not in page
    assert "Unsubscribe from all" in page and "still reaches you" in page
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "login" not in response.request.path


def test_saving_records_the_choices_and_audits_them(client, sent, topic_pair):
    newsletter, events = topic_pair
    path = sent["Jan"][1]
    response = client.post(path, data={"topic": [str(newsletter.id)]})  # Events unticked
    assert response.status_code == 200
    page = " ".join(response.text.split())
    assert "Your choices are saved." in page and "No more: Events." in page
    assert f'value="{events.id}" checked' not in page
    assert topics.opted_out_topic_ids("jan@devries.example") == {events.id}
    assert topics.opted_out_topic_ids("emma@devries.example") == set()
    assert not mail.is_suppressed("jan@devries.example")
    [event] = db.session.scalars(db.select(SuppressionEvent)).all()
    assert (event.email, event.action, event.topic_id) == (
        "jan@devries.example",
        "added",
        events.id,
    )
    assert event.actor == "preference page" and event.user_id is None
    again = client.post(path, data={"topic": [str(newsletter.id)]})
    assert "Nothing changed." in again.text


def test_unsubscribing_from_all_and_subscribing_again_are_logged(client, sent, topic_pair):
    newsletter, events = topic_pair
    _, path = sent["Emma"]
    chosen = [str(newsletter.id), str(events.id)]
    done = client.post(path, data={"topic": chosen, "unsubscribe_all": "1"})
    assert "You are unsubscribed from all our marketing e-mail." in done.text
    listed = db.session.scalar(db.select(Suppression))
    assert (listed.email, listed.reason) == ("emma@devries.example", "unsubscribed")
    assert 'name="unsubscribe_all" value="1" checked' in done.text
    back = client.post(path, data={"topic": chosen})  # the box unticked: an explicit resubscribe
    assert "You are subscribed again" in back.text
    assert not mail.is_suppressed("emma@devries.example")
    trail = db.session.scalars(db.select(SuppressionEvent).order_by(SuppressionEvent.id)).all()
    assert [(e.action, e.reason, e.actor) for e in trail] == [
        ("added", "unsubscribed", "preference page"),
        ("removed", "unsubscribed", "preference page"),
    ]
    assert trail[1].note == "re-subscribed by the recipient"


def test_a_bounce_or_crm_opt_out_cannot_be_lifted_by_the_recipient(client, sent, topic_pair):
    _, path = sent["Jan"]
    mail.suppress("jan@devries.example", "crm_opt_out")
    page = client.get(path)
    assert "All marketing e-mail to this address is stopped (opted out in the CRM)" in page.text
    client.post(path, data={"topic": [str(t.id) for t in topic_pair]})
    assert db.session.scalar(db.select(Suppression.reason)) == "crm_opt_out"


def test_tampered_and_odd_tokens_are_404(app, client, sent):
    jan, path = sent["Jan"]
    emma, _ = sent["Emma"]
    good = path[3:]
    token, _, signature = good.partition(".")
    webview = signer_for(app).webview_url(jan.token).rpartition("/")[2]
    forged = [
        f"{token}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}",
        f"{emma.token}.{signature}",  # another message with Jan's signature
        webview,  # a web view token is no preference token
        token,
        f"{token}.",
        f"{token}.{signature.upper()}",
        "é" * 40 + "." + signature,
        "a" * 10_000 + "." + signature,
        "..",
    ]
    for candidate in forged:
        response = client.get("/p/" + quote(candidate, safe=""))
        assert response.status_code == 404, candidate[:80]
        assert "Link not recognised" in response.text
        assert client.post("/p/" + quote(candidate, safe=""), data={}).status_code == 404
    assert db.session.scalar(db.select(db.func.count(SuppressionEvent.id))) == 0
    assert client.get("/p/" + good).status_code == 200


def test_odd_form_values_are_ignored_or_refused(client, sent, topic_pair):
    _, path = sent["Jan"]
    response = client.post(path, data={"topic": ["x", "²", "99999999999", "-1"]})
    assert response.status_code == 200  # nothing wanted: every topic is an opt-out
    assert topics.opted_out_topic_ids("jan@devries.example") == {t.id for t in topic_pair}
    assert client.post(path, data={"topic": ["1"] * 100}).status_code == 400


def test_the_suppressions_page_shows_topic_opt_outs(client, sent, topic_pair, marketer_client):
    newsletter, _ = topic_pair
    client.post(sent["Jan"][1], data={"topic": [str(newsletter.id)]})
    page = " ".join(marketer_client.get("/suppressions").text.split())
    assert "Opted out of single topics" in page
    table = page[page.index('id="topic-opt-outs"') :]
    assert "jan@devries.example" in table and "Events" in table
    assert "opted out of “Events”" in page  # the audit list names the topic
    assert "preference page" in page


def test_the_field_catalogue_and_the_starter_newsletter_offer_it(app):
    fields = {field.name: field for field in catalogue("contact")}
    assert fields["preferences_url"].type == "url"
    assert "preferences_url" in {field.name for field in catalogue("invoice")}
    assert "preferences_url" not in field_names("contact")
    newsletter = (ROOT / "templates_lib" / "email" / "newsletter.mjml").read_text()
    assert 'href="{{ preferences_url }}"' in newsletter

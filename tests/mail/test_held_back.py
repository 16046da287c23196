"""Consent: the suppression list holds back marketing mail of every kind, at queue time and
right before SMTP; transactional mail only for a hard bounce. Real SMTP on loopback."""

import pytest
from support import csrf_token, log_in

from designer import mail, templating
from designer.auth.link_mail import KEYS
from designer.extensions import db
from designer.mail import consent, history
from designer.mail.models import Message, Suppression
from designer.templating.system import current_version


def queue(template, contact, sender):
    return mail.queue_message(
        template, module="contact", record=contact, sender_user=sender, enqueue=False
    )


def received_by(smtp_server):
    return [m["To"].addresses[0].addr_spec for m in smtp_server.handler.messages()]


def suppression_date():
    return db.session.scalar(db.select(Suppression.created_at))


def expected_reason(label):
    since = suppression_date()
    return f"held back: {label} on {since.day} {since:%b %Y}"


@pytest.fixture
def transactional(welcome):
    templating.set_purpose(welcome, "transactional")
    return welcome


def test_a_marketing_message_to_an_unsubscribed_contact_is_written_held_back(
    smtp_app, smtp_server, welcome, people
):
    mail.suppress(people.jan.email, "unsubscribed")
    message = queue(welcome, people.jan, people.admin)
    assert message.state == "suppressed" and message.purpose == "marketing"
    assert message.last_error == expected_reason("unsubscribed")
    assert mail.dispatch_due() == 0  # never queued
    assert mail.deliver_batch([message.id])["skipped"] == 1
    assert smtp_server.handler.messages() == []
    assert [m.id for m in history.page_of("contact", people.jan).messages] == [message.id]


def test_a_transactional_message_goes_to_an_unsubscribed_or_opted_out_contact(
    smtp_app, smtp_server, transactional, people
):
    mail.suppress(people.jan.email, "unsubscribed")
    consent.apply_crm_opt_outs({people.emma.email: True})
    db.session.commit()
    ids = [queue(transactional, person, people.admin).id for person in (people.jan, people.emma)]
    assert mail.deliver_batch(ids)["sent"] == 2
    assert sorted(received_by(smtp_server)) == sorted([people.jan.email, people.emma.email])
    assert {m.purpose for m in db.session.scalars(db.select(Message))} == {"transactional"}


def test_a_hard_bounced_address_gets_neither_marketing_nor_transactional_mail(
    smtp_app, smtp_server, welcome, people
):
    mail.suppress(people.jan.email, "bounced")
    marketing = queue(welcome, people.jan, people.admin)
    templating.set_purpose(welcome, "transactional")
    transactional = queue(welcome, people.jan, people.admin)
    reason = expected_reason("hard bounce (the address does not exist)")
    assert (marketing.state, marketing.last_error) == ("suppressed", reason)
    assert (transactional.state, transactional.purpose) == ("suppressed", "transactional")
    assert transactional.last_error == reason
    assert mail.deliver_batch([marketing.id, transactional.id])["sent"] == 0
    assert smtp_server.handler.messages() == []


def test_the_last_check_before_smtp_holds_back_a_message_queued_before_the_unsubscribe(
    smtp_app, smtp_server, welcome, people
):
    marketing = queue(welcome, people.jan, people.admin)
    templating.set_purpose(welcome, "transactional")
    transactional = queue(welcome, people.jan, people.admin)
    assert marketing.state == transactional.state == "queued"
    mail.suppress(people.jan.email, "unsubscribed")
    outcome = mail.deliver_batch([marketing.id, transactional.id])
    assert outcome["suppressed"] == 1 and outcome["sent"] == 1
    db.session.refresh(marketing)
    assert marketing.state == "suppressed"
    assert marketing.last_error == expected_reason("unsubscribed")
    assert received_by(smtp_server) == [people.jan.email]  # the transactional one


def test_the_last_check_before_smtp_holds_back_transactional_mail_after_a_hard_bounce(
    smtp_app, smtp_server, transactional, people
):
    message = queue(transactional, people.jan, people.admin)
    mail.suppress(people.jan.email, "bounced")
    assert mail.deliver_batch([message.id])["suppressed"] == 1
    assert smtp_server.handler.messages() == []


def test_the_product_s_own_mail_is_transactional(app, people):
    version = current_version(KEYS["reset"])
    assert version.template.purpose == "transactional"
    assert templating.purpose_of(version.template) == "transactional"
    mail.suppress(people.admin.email, "unsubscribed")
    message = mail.queue_message(
        version, module="user", record=people.admin, sender_user=people.admin, enqueue=False
    )
    assert message.purpose == "transactional" and message.state == "queued"


def test_send_to_contact_in_the_editor_says_the_message_was_held_back(
    smtp_app, smtp_server, welcome, people, client
):
    log_in(client, people.admin.email, "secret")
    mail.suppress(people.jan.email, "unsubscribed")
    path = f"/templates/{welcome.id}"
    answer = client.post(
        f"{path}/send",
        data={"csrf_token": csrf_token(client, path), "contact": people.jan.id, "confirmed": "yes"},
        follow_redirects=True,
    )
    page = answer.get_data(as_text=True)
    [message] = db.session.scalars(db.select(Message)).all()
    assert message.state == "suppressed"
    assert f"Not sent to {people.jan.email}, {expected_reason('unsubscribed')}" in page
    assert "this template sends marketing mail" in page
    contact_page = client.get(f"/contacts/{people.jan.id}").get_data(as_text=True)
    assert "Held back: unsubscribed on" in contact_page  # in the record's history
    assert "Unsubscribed" in contact_page and "since" in contact_page
    message_page = client.get(f"/messages/{message.id}").get_data(as_text=True)
    assert "Why not sent" in message_page and "Marketing" in message_page
    assert mail.dispatch_due() == 0 and smtp_server.handler.messages() == []


def test_the_contact_page_tells_each_kind_of_suppression(app, people, client):
    log_in(client, people.admin.email, "secret")
    page = client.get(f"/contacts/{people.jan.id}").get_data(as_text=True)
    assert "Receives marketing mail" in page
    for reason, words in (
        ("crm_opt_out", "Opted out in the CRM"),
        ("bounced", "Hard bounce (the address does not exist)"),
        ("unsubscribed", "Unsubscribed"),
    ):
        db.session.execute(db.delete(Suppression))
        db.session.commit()
        mail.suppress(people.jan.email, reason)
        page = client.get(f"/contacts/{people.jan.id}").get_data(as_text=True)
        since = suppression_date()
        assert words in page and f"{since:%b} {since.day}, {since.year}" in page, reason
        assert ("transactional mail neither" in page) == (reason == "bounced")


def api_send(admin_api, template, contact):
    return admin_api.post(
        "/api/v1/messages", json={"template_id": template.id, "record": {"id": contact.id}}
    )


def test_the_api_refuses_marketing_mail_to_a_suppressed_recipient_and_says_why(admin_api, demo):
    from designer.records.models import Contact

    contact = db.session.scalar(db.select(Contact).where(Contact.email != "").limit(1))
    named = db.select(templating.Template).where(templating.Template.name == "Welcome")
    welcome = db.session.scalar(named)
    mail.suppress(contact.email, "unsubscribed")
    answer = api_send(admin_api, welcome, contact)
    assert answer.status_code == 422, answer.text
    error = answer.get_json()["error"]
    assert error["code"] == "recipient_suppressed"
    assert error["details"]["reason"] == "unsubscribed"
    assert error["details"]["since"].startswith(suppression_date().date().isoformat())
    assert expected_reason("unsubscribed") in error["message"]
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 0

    templating.set_purpose(welcome, "transactional")
    answer = api_send(admin_api, welcome, contact)
    assert answer.status_code == 202, answer.text
    assert answer.get_json()["purpose"] == "transactional"
    assert answer.get_json()["state"] == "queued"

    db.session.execute(db.delete(Suppression))
    db.session.commit()
    mail.suppress(contact.email, "bounced")
    answer = api_send(admin_api, welcome, contact)
    assert answer.status_code == 422 and answer.get_json()["error"]["details"]["reason"] == (
        "bounced"
    )


def test_campaign_rows_are_marketing_whatever_the_template(app, transactional, people):
    from designer.mail.ledger import RowBuilder
    from designer.records import recipient_of

    row = RowBuilder(transactional, people.admin, campaign_id=7).row(
        recipient_of("contact", people.jan),
        module="contact",
        record_id=people.jan.id,
        dedupe_key="c7:jan",
    )
    assert row["purpose"] == "marketing"

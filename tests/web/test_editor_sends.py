"""The template editor's two sends: "Send test to me" goes only to the user, marked
``[Test]``; "Send to contact" mails the real customer only after a confirmation page."""

import pytest
from support import csrf_token, log_in

from designer import mail
from designer.extensions import db
from designer.mail.sender import set_sending_policy
from designer.records import Contact


@pytest.fixture
def ada(client, people):
    return log_in(client, people.admin.email, "secret")


def messages():
    return db.session.scalars(db.select(mail.Message).order_by(mail.Message.id)).all()


def delivered(smtp_server):
    [message] = messages()
    assert mail.deliver_batch([message.id])["sent"] == 1
    [envelope] = smtp_server.handler.received
    [received] = smtp_server.handler.messages()
    return message, envelope, received


def post(client, path, **data):
    editor = path.rsplit("/", 1)[0]
    return client.post(path, data={"csrf_token": csrf_token(client, editor), **data})


@pytest.mark.parametrize("central", ["", "crm@company.example"])
def test_send_test_to_me_goes_only_to_the_user_marked_test(
    smtp_app, smtp_server, ada, welcome, people, central
):
    set_sending_policy(central)
    answer = post(ada, f"/templates/{welcome.id}/test-send", contact=people.jan.id)
    page = ada.get(answer.location).text
    assert "Test queued" in page and "it goes only to you, ada@example.com" in page
    message, envelope, received = delivered(smtp_server)
    assert message.test and message.contact_id is None and message.organisation_id is None
    assert envelope.rcpt_tos == ["ada@example.com"]
    assert received["Subject"] == "[Test] Welcome, Jan!"
    assert received["To"].addresses[0].addr_spec == "ada@example.com"
    assert received["Cc"] is None and received["Bcc"] is None
    headers = envelope.original_content.split(b"\r\n\r\n", 1)[0]
    assert b"devries.example" not in headers  # nothing addressed to the contact
    replies = [a.addr_spec for a in received["Reply-To"].addresses] if central else []
    assert replies == (["ada@example.com"] if central else [])  # the user's own, never the contact
    assert received["Reply-To"] is None or central
    assert "Hello Jan" in " ".join(received.get_body(("html",)).get_content().split())
    assert message.subject == "[Test] Welcome, Jan!"  # the Outbox shows it too


def test_send_to_contact_without_confirmation_sends_nothing(smtp_app, smtp_server, ada, welcome):
    editor = ada.get(f"/templates/{welcome.id}").text
    assert "Send a test" not in editor and "Send to a contact" in editor
    assert "you confirm on the next page" in editor
    jan = db.session.scalar(db.select(Contact).where(Contact.first_name == "Jan"))
    answer = post(ada, f"/templates/{welcome.id}/send", contact=jan.id)
    assert answer.status_code == 200
    assert "Send to Jan de Vries?" in answer.text
    assert "Jan de Vries &lt;jan@devries.example&gt;" in answer.text
    assert 'name="confirmed" value="yes"' in answer.text and "Cancel: send nothing" in answer.text
    assert messages() == [] and mail.dispatch_due() == 0
    assert smtp_server.handler.received == []


def test_send_to_contact_with_confirmation_sends(smtp_app, smtp_server, ada, welcome, people):
    answer = post(ada, f"/templates/{welcome.id}/send", contact=people.jan.id, confirmed="yes")
    assert answer.status_code == 302
    assert "Queued message" in ada.get(answer.location).text
    message, envelope, received = delivered(smtp_server)
    assert not message.test and message.contact_id == people.jan.id
    assert envelope.rcpt_tos == ["jan@devries.example"]
    assert received["Subject"] == "Welcome, Jan!"


def test_a_contact_without_an_address_is_named_before_anything(ada, welcome, people):
    nobody = Contact(first_name="Noor", last_name="Zonder", email="")
    db.session.add(nobody)
    db.session.commit()
    answer = post(ada, f"/templates/{welcome.id}/send", contact=nobody.id)
    assert "Not sent: Noor Zonder has no e-mail address." in ada.get(answer.location).text
    assert messages() == []

"""The ledger and delivery against a real SMTP server on loopback."""

from datetime import timedelta

import pytest
from support import pixel_path

from designer import mail
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message


def queue(welcome, contact, sender):
    return mail.queue_message(
        welcome.current, module="contact", record=contact, sender_user=sender, enqueue=False
    )


def test_sent_message_carries_merged_values_and_is_recorded(smtp_app, smtp_server, welcome, people):
    message = queue(welcome, people.jan, people.admin)
    outcome = mail.deliver_batch([message.id])
    db.session.refresh(message)
    assert outcome["sent"] == 1, message.last_error
    [received] = smtp_server.handler.messages()
    assert received["Subject"] == "Welcome, Jan!"
    assert received["To"].addresses[0].addr_spec == "jan@devries.example"
    html = " ".join(received.get_body(("html",)).get_content().split())
    assert "Hello Jan of Bakkerij De Vries," in html
    assert pixel_path(smtp_app, message.token) in html
    db.session.refresh(message)
    assert message.state == "sent" and message.message_id == received["Message-ID"]
    assert message.smtp_reply.startswith("250")
    assert message.locale == "nl"


def test_claim_is_atomic_so_a_message_is_sent_once(smtp_app, smtp_server, welcome, people):
    message = queue(welcome, people.jan, people.admin)
    mail.deliver_batch([message.id])
    again = mail.deliver_batch([message.id])
    assert again["skipped"] == 1 and again["sent"] == 0
    assert len(smtp_server.handler.messages()) == 1


def test_5xx_fails_only_that_recipient(smtp_app, smtp_server, welcome, people):
    first = queue(welcome, people.jan, people.admin)
    second = queue(welcome, people.emma, people.admin)
    smtp_server.handler.answers.append("550 5.1.1 mailbox unknown")
    outcome = mail.deliver_batch([first.id, second.id])
    assert outcome["failed"] == 1 and outcome["sent"] == 1
    db.session.refresh(first)
    assert first.state == "failed" and "550" in first.last_error


def test_4xx_is_retried_later(smtp_app, smtp_server, welcome, people):
    message = queue(welcome, people.jan, people.admin)
    smtp_server.handler.answers.append("451 4.3.0 try again later")
    assert mail.deliver_batch([message.id])["retry"] == 1
    db.session.refresh(message)
    assert message.state == "queued" and message.next_attempt_at > utcnow()
    assert mail.deliver_batch([message.id])["skipped"] == 1  # not due yet
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert mail.deliver_batch([message.id])["sent"] == 1


def test_unreachable_server_keeps_the_message_queued(app, welcome, people):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:9"
    message = queue(welcome, people.jan, people.admin)
    assert mail.deliver_batch([message.id])["retry"] == 1
    db.session.refresh(message)
    assert message.state == "queued" and "cannot connect" in message.last_error


def test_expired_lease_is_requeued(app, welcome, people):
    message = queue(welcome, people.jan, people.admin)
    message.state = "sending"
    message.lease_until = utcnow() - timedelta(seconds=5)
    db.session.commit()
    assert mail.requeue_expired_leases() == 1
    db.session.refresh(message)
    assert message.state == "queued"
    assert mail.dispatch_due() == 1


def test_central_from_keeps_the_users_name_and_reply_to(smtp_app, smtp_server, welcome, people):
    smtp_app.config["CENTRAL_FROM"] = "crm@company.example"
    message = queue(welcome, people.jan, people.admin)
    mail.deliver_batch([message.id])
    [received] = smtp_server.handler.messages()
    assert str(received["From"]) == "Ada Admin <crm@company.example>"
    assert str(received["Reply-To"]) == "Ada Admin <ada@example.com>"


def test_dedupe_key_is_unique(app, welcome, people):
    import pytest
    from sqlalchemy.exc import IntegrityError

    mail.queue_message(
        welcome.current,
        module="contact",
        record=people.jan,
        sender_user=people.admin,
        dedupe_key="campaign-1:jan",
        enqueue=False,
    )
    with pytest.raises(IntegrityError):
        mail.queue_message(
            welcome.current,
            module="contact",
            record=people.jan,
            sender_user=people.admin,
            dedupe_key="campaign-1:jan",
            enqueue=False,
        )
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 1


def test_address_with_line_breaks_never_reaches_smtp(smtp_app, smtp_server, welcome, people):
    people.jan.email = "jan@devries.example\r\nRCPT TO:<x@evil.test>"
    db.session.commit()
    message = queue(welcome, people.jan, people.admin)
    assert mail.deliver_batch([message.id])["failed"] == 1
    db.session.refresh(message)
    assert "not a valid e-mail address" in message.last_error
    assert smtp_server.handler.messages() == []


def test_a_runaway_template_fails_its_message_cleanly(smtp_app, smtp_server, people):
    from designer.templating import create_template

    bomb = create_template(
        "Bomb",
        "<mjml><mj-body><mj-section><mj-column><mj-text>"
        "{{ 'x' * 10**9 }}</mj-text></mj-column></mj-section></mj-body></mjml>",
    )
    message = queue(bomb, people.jan, people.admin)
    assert mail.deliver_batch([message.id])["failed"] == 1
    db.session.refresh(message)
    assert "too large" in message.last_error
    assert smtp_server.handler.messages() == []


@pytest.mark.parametrize("answer", ["421 4.3.2 Service shutting down", "DROP"])
def test_421_and_a_dropped_connection_are_retried_then_sent(
    smtp_app, smtp_server, welcome, people, answer
):
    message = queue(welcome, people.jan, people.admin)
    second = queue(welcome, people.emma, people.admin)
    smtp_server.handler.answers.append(answer)
    outcome = mail.deliver_batch([message.id, second.id])
    assert outcome["retry"] == 1 and outcome["sent"] == 1  # the rest of the batch goes on
    db.session.refresh(message)
    assert message.state == "queued" and message.last_error
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert mail.deliver_batch([message.id])["sent"] == 1
    received = [m["To"].addresses[0].addr_spec for m in smtp_server.handler.messages()]
    assert sorted(received) == ["emma@devries.example", "jan@devries.example"]

"""Subscription topics: administrators define them; an opt-out of one topic holds back that
topic's marketing mail (at queue time and right before SMTP) and nothing else. Real SMTP on
loopback and a real RQ worker."""

import pytest
from support import csrf_token

from designer import mail, templating
from designer.extensions import db
from designer.mail import consent, ledger, topics
from designer.mail.models import Message, SuppressionEvent, Topic


@pytest.fixture
def newsletter(app):
    return topics.add_topic("Newsletter", "Our monthly news")


@pytest.fixture
def events(app):
    return topics.add_topic("Events", "Invitations to our events")


def opt_out(email, *topic_list):
    topics.set_opt_outs(email, {t.id for t in topic_list}, "preference page")
    db.session.commit()


def queue(template, contact, sender, topic=None):
    return mail.queue_message(
        template,
        module="contact",
        record=contact,
        sender_user=sender,
        enqueue=False,
        topic_id=topic.id if topic else None,
    )


def received_by(smtp_server):
    return [m["To"].addresses[0].addr_spec for m in smtp_server.handler.messages()]


# -- defining topics ---------------------------------------------------------------------


def test_topics_are_added_renamed_described_and_archived(app, newsletter, events):
    assert [t.name for t in topics.active_topics()] == ["Events", "Newsletter"]
    topics.change_topic(events, "  Events   and webinars ", "Meet us")
    assert (events.name, events.description) == ("Events and webinars", "Meet us")
    topics.archive_topic(events)
    assert [t.name for t in topics.active_topics()] == ["Newsletter"]
    assert [t.name for t in topics.all_topics()] == ["Newsletter", "Events and webinars"]
    with pytest.raises(topics.TopicRefused, match="archived or gone"):
        topics.active_topic(events.id)
    topics.restore_topic(events)
    assert topics.active_topic(events.id) is events


@pytest.mark.parametrize(
    ("name", "description", "why"),
    [
        ("", "", "Give the topic a name"),
        ("   ", "", "Give the topic a name"),
        ("x" * 61, "", "longer than 60 characters"),
        ("Fine", "y" * 301, "longer than 300 characters"),
        ("Bad\x00name", "", "control characters"),
        ("newsletter", "", "There is a topic named “newsletter” already"),
    ],
)
def test_bad_topics_are_refused_with_a_reason(app, newsletter, name, description, why):
    with pytest.raises(topics.TopicRefused, match=why):
        topics.add_topic(name, description)
    assert db.session.scalar(db.select(db.func.count(Topic.id))) == 1


def test_renaming_onto_another_topic_s_name_is_refused(app, newsletter, events):
    with pytest.raises(topics.TopicRefused, match="already"):
        topics.change_topic(events, "NEWSLETTER", "")
    db.session.refresh(events)
    assert events.name == "Events"


def test_the_topics_page_is_for_administrators(admin_client, marketer_client):
    page = admin_client.get("/settings/topics")
    assert page.status_code == 200 and "No topics yet" in page.text
    token = csrf_token(admin_client, "/settings/topics")
    response = admin_client.post(
        "/settings/topics", data={"name": "Events", "description": "Meet us", "csrf_token": token}
    )
    assert response.status_code == 302
    topic = db.session.scalar(db.select(Topic))
    assert (topic.name, topic.description) == ("Events", "Meet us")
    refused = admin_client.post(
        "/settings/topics", data={"name": "x" * 61, "description": "kept", "csrf_token": token}
    )
    assert refused.status_code == 400
    assert "Not added: The name is longer than 60 characters." in refused.text
    assert 'value="kept"' in refused.text  # nothing typed is lost
    renamed = admin_client.post(
        f"/settings/topics/{topic.id}",
        data={"name": "Events & webinars", "description": "", "csrf_token": token},
    )
    assert renamed.status_code == 302
    archived = admin_client.post(f"/settings/topics/{topic.id}/archive", data={"csrf_token": token})
    assert archived.status_code == 302
    db.session.refresh(topic)
    assert topic.name == "Events & webinars" and topic.archived_at is not None
    assert (
        admin_client.post("/settings/topics/999/archive", data={"csrf_token": token}).status_code
        == 404
    )
    no_csrf = admin_client.post("/settings/topics", data={"name": "Sneaky"})
    assert no_csrf.status_code == 400
    marketer_token = csrf_token(marketer_client, "/campaigns")
    assert marketer_client.get("/settings/topics").status_code == 403
    for path in (
        "/settings/topics",
        f"/settings/topics/{topic.id}",
        f"/settings/topics/{topic.id}/restore",
    ):
        response = marketer_client.post(path, data={"name": "Mine", "csrf_token": marketer_token})
        assert response.status_code == 403
    assert [t.name for t in topics.all_topics()] == ["Events & webinars"]


# -- holding back --------------------------------------------------------------------------


def test_an_opt_out_of_one_topic_holds_back_that_topic_only_at_queue_time(
    smtp_app, smtp_server, welcome, people, newsletter, events
):
    opt_out(people.jan.email, events)
    held = queue(welcome, people.jan, people.admin, events)
    since = held.created_at
    assert held.state == "suppressed"
    assert held.last_error.startswith("held back: opted out of “Events” on ")
    assert str(since.year) in held.last_error
    news = queue(welcome, people.jan, people.admin, newsletter)
    untopical = queue(welcome, people.jan, people.admin)
    emma = queue(welcome, people.emma, people.admin, events)
    assert news.state == untopical.state == emma.state == "queued"
    assert mail.deliver_batch([held.id, news.id, untopical.id, emma.id])["sent"] == 3
    assert sorted(received_by(smtp_server)) == sorted(
        [people.jan.email, people.jan.email, people.emma.email]
    )


def test_transactional_mail_is_never_held_back_by_a_topic(
    smtp_app, smtp_server, welcome, people, events
):
    templating.set_purpose(welcome, "transactional")
    opt_out(people.jan.email, events)
    message = queue(welcome, people.jan, people.admin, events)
    assert message.state == "queued"
    assert mail.deliver_batch([message.id])["sent"] == 1


def test_all_keeps_its_meaning_whatever_the_topics(smtp_app, welcome, people, events):
    mail.suppress(people.jan.email, "unsubscribed")
    message = queue(welcome, people.jan, people.admin, events)
    assert message.state == "suppressed" and "unsubscribed" in message.last_error
    found = consent.suppression_of(people.jan.email, events.id)
    assert found[0] == "unsubscribed"
    assert consent.suppression_of(people.emma.email, events.id) is None
    opt_out(people.emma.email, events)
    reason = consent.hold_back_reason(
        "marketing", consent.suppression_of(people.emma.email, events.id)
    )
    assert reason.startswith("held back: opted out of “Events”")
    assert (
        consent.hold_back_reason(
            "transactional", consent.suppression_of(people.emma.email, events.id)
        )
        is None
    )
    assert consent.suppression_of(people.emma.email) is None  # no topic asked: not held back


def test_the_worker_holds_back_a_message_whose_recipient_opted_out_after_queuing(
    smtp_app, smtp_server, welcome, people, newsletter, events, run_worker_burst
):
    going = queue(welcome, people.jan, people.admin, newsletter)
    stopped = queue(welcome, people.jan, people.admin, events)
    assert going.state == stopped.state == "queued"
    opt_out(people.jan.email.upper(), events)  # addresses are compared in lower case
    ledger.enqueue_ids([going.id, stopped.id])
    run_worker_burst()
    going, stopped = db.session.get(Message, going.id), db.session.get(Message, stopped.id)
    assert going.state == "sent"
    assert stopped.state == "suppressed"
    assert stopped.last_error.startswith("held back: opted out of “Events”")
    assert received_by(smtp_server) == [people.jan.email]


def test_opt_outs_are_audited_and_only_active_topics_change(app, people, newsletter, events):
    added, lifted = topics.set_opt_outs(people.jan.email, {events.id, 999}, "preference page")
    db.session.commit()
    assert (added, lifted) == (["Events"], [])
    topics.archive_topic(events)
    added, lifted = topics.set_opt_outs(people.jan.email, set(), "preference page")
    db.session.commit()
    assert (added, lifted) == ([], [])  # an archived topic's opt-out is kept
    assert topics.opted_out_topic_ids(people.jan.email) == {events.id}
    topics.restore_topic(events)
    added, lifted = topics.set_opt_outs(people.jan.email, set(), "preference page")
    db.session.commit()
    assert lifted == ["Events"]
    trail = db.session.scalars(db.select(SuppressionEvent).order_by(SuppressionEvent.id)).all()
    assert [(e.action, e.topic_id, e.actor) for e in trail] == [
        ("added", events.id, "preference page"),
        ("removed", events.id, "preference page"),
    ]

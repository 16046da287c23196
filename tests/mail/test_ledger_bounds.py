"""The ledger at its bounds: the exact backoff window of a retry and the give-up after the
last attempt, a released row's attempt given back, the stale re-dispatch exactly at and
past its bound, the rows a campaign cancels or queues again, the rows written for a
campaign, queuing in batches (at once, deferred or for later) and the outcome writes
with their webhook. The clock and the jitter's draw are set by the tests."""

import json
import random
from datetime import datetime, timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import event, text
from test_ledger import CAMPAIGN, OpenUntil, queue, reloaded

from designer import broker, mail, webhooks
from designer.extensions import db
from designer.mail import ledger
from designer.mail.copies import AddressesInvalid
from designer.mail.models import Message
from designer.mail.recorder import Recorder
from designer.mail.topics import add_topic
from designer.records import Recipient
from designer.templating import create_variant
from designer.webhooks.models import WebhookDelivery, WebhookEndpoint

NOW = datetime(2026, 3, 2, 9, 30, 0)
TICK = timedelta(microseconds=1)


class Draw(random.Random):
    """The jitter's random draw, fixed by the test: 0 the window's low end, 1 its high end."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def random(self):
        return self.at


@pytest.fixture(autouse=True)
def fresh_statements(monkeypatch):
    """The outcome writes' statements built afresh, as in a worker just started."""
    monkeypatch.setattr(ledger, "_updates", {})


@pytest.fixture
def clock(app, monkeypatch):
    """``clock(moment)`` sets the ledger's time; it starts at ``NOW``."""

    def set_to(moment):
        monkeypatch.setattr(ledger, "utcnow", lambda: moment)

    set_to(NOW)
    return set_to


@pytest.fixture
def hook(app):
    """An endpoint subscribed to ``message.sent`` (rows are written, never delivered)."""
    app.config["ALLOWED_WEBHOOK_HOSTS"] = "127.0.0.1"
    endpoint, _ = webhooks.create_endpoint("http://127.0.0.1:9/hook", ["message.sent"])
    return endpoint


def queued_ids():
    """The message ids of the jobs on the e-mail queue, job by job."""
    return [job.args[0] for job in broker.get_queue(broker.EMAILS).jobs]


def sent_events():
    db.session.expire_all()
    rows = db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id))
    return [json.loads(row.body)["data"] for row in rows]


# -- retries, give-up, release ------------------------------------------------------------


@pytest.mark.parametrize(("attempts", "low", "high"), [(1, 80, 120), (2, 160, 240), (4, 640, 960)])
def test_a_retry_is_due_at_exactly_each_end_of_its_doubling_window(
    app, clock, monkeypatch, welcome, people, attempts, low, high
):
    app.config["RETRY_BASE_SECONDS"] = 100
    for draw, seconds in ((0.0, low), (1.0, high)):
        monkeypatch.setattr(ledger, "random", Draw(draw))
        message = queue(
            welcome,
            people.jan,
            people.admin,
            attempts=attempts,
            state="sending",
            lease_until=NOW,
            enqueued_at=NOW,
        )
        ledger.mark_retry(message, "451 later")
        row = reloaded(message)
        assert row.next_attempt_at == NOW + timedelta(seconds=seconds)
        assert (row.state, row.last_error, row.lease_until, row.enqueued_at) == (
            "queued",
            "451 later",
            None,
            None,
        )


def test_a_retried_row_is_dispatched_at_its_time_and_not_a_microsecond_before(
    app, clock, monkeypatch, welcome, people
):
    app.config["RETRY_BASE_SECONDS"] = 100
    monkeypatch.setattr(ledger, "random", Draw(0.0))
    message = queue(welcome, people.jan, people.admin, attempts=1, state="sending", enqueued_at=NOW)
    ledger.mark_retry(message, "451 later")
    clock(NOW + timedelta(seconds=80) - TICK)
    assert ledger.dispatch_due() == 0
    clock(NOW + timedelta(seconds=80))
    assert ledger.dispatch_due() == 1
    assert queued_ids() == [[message.id]]


@pytest.mark.parametrize("attempts", [5, 6])
def test_a_row_at_or_past_the_last_attempt_fails_instead_of_retrying(
    app, welcome, people, attempts
):
    app.config["MAX_ATTEMPTS"] = 5
    message = queue(
        welcome, people.jan, people.admin, attempts=attempts, state="sending", lease_until=NOW
    )
    ledger.mark_retry(message, "451 later")
    row = reloaded(message)
    assert (row.state, row.lease_until, row.next_attempt_at) == ("failed", None, None)
    assert row.last_error == f"gave up after {attempts} attempts: 451 later"


@pytest.mark.parametrize(("attempts", "left"), [(3, 2), (1, 0), (0, 0)])
def test_a_released_row_goes_back_to_the_queue_with_its_attempt_given_back(
    app, welcome, people, attempts, left
):
    message = queue(
        welcome,
        people.jan,
        people.admin,
        attempts=attempts,
        state="sending",
        lease_until=NOW,
        enqueued_at=NOW,
    )
    ledger.release(message)
    row = reloaded(message)
    assert (row.state, row.attempts, row.lease_until, row.enqueued_at) == (
        "queued",
        left,
        None,
        None,
    )


def test_a_failed_row_keeps_the_error_and_what_else_it_was_given(app, welcome, people):
    message = queue(welcome, people.jan, people.admin, state="sending", lease_until=NOW)
    ledger.mark_failed(message, ValueError("550 no such user"), bounce="hard")
    row = reloaded(message)
    assert (row.state, row.last_error, row.bounce, row.lease_until) == (
        "failed",
        "550 no such user",
        "hard",
        None,
    )


def test_a_suppressed_row_keeps_the_reason(app, welcome, people):
    message = queue(welcome, people.jan, people.admin, state="sending", lease_until=NOW)
    ledger.mark_suppressed(message, "held back: unsubscribed")
    row = reloaded(message)
    assert (row.state, row.last_error, row.lease_until) == (
        "suppressed",
        "held back: unsubscribed",
        None,
    )


# -- stale re-dispatch ----------------------------------------------------------------------


def test_a_job_is_dispatched_again_only_once_past_the_stale_bound(app, clock, welcome, people):
    app.config["STALE_ENQUEUE_SECONDS"] = 120
    bound = NOW - timedelta(seconds=120)
    at_bound = queue(welcome, people.jan, people.admin, enqueued_at=bound)
    past = queue(welcome, people.emma, people.admin, enqueued_at=bound - TICK)
    never = queue(welcome, people.jan, people.admin)
    assert ledger.dispatch_due() == 2
    assert sorted(*queued_ids()) == sorted([past.id, never.id])
    assert reloaded(past).enqueued_at == NOW and reloaded(never).enqueued_at == NOW
    assert reloaded(at_bound).enqueued_at == bound


def test_dispatch_takes_only_queued_rows_that_are_due_now(app, clock, welcome, people):
    due_now = queue(welcome, people.jan, people.admin, next_attempt_at=NOW)
    later = queue(welcome, people.emma, people.admin, next_attempt_at=NOW + TICK)
    sending = queue(welcome, people.jan, people.admin, state="sending")
    assert ledger.dispatch_due() == 1
    assert queued_ids() == [[due_now.id]]
    assert reloaded(later).enqueued_at is None and reloaded(sending).enqueued_at is None
    assert ledger.dispatch_due() == 0


def test_dispatch_leaves_a_campaign_s_rows_until_its_gate_lets_it_send(app, clock, welcome, people):
    message = queue(welcome, people.jan, people.admin, campaign_id=CAMPAIGN)
    assert ledger.dispatch_due() == 0
    assert ledger.dispatch_due(OpenUntil(lambda: False)) == 0
    assert ledger.dispatch_due(OpenUntil(lambda: True)) == 1
    assert queued_ids() == [[message.id]]


# -- a campaign's rows ------------------------------------------------------------------------


@pytest.fixture
def campaign_rows(app, clock, welcome, people):
    """Two queued rows of the campaign, one it is sending, one queued of another campaign."""
    rows = [
        queue(welcome, people.jan, people.admin, campaign_id=CAMPAIGN, enqueued_at=NOW),
        queue(welcome, people.emma, people.admin, campaign_id=CAMPAIGN, enqueued_at=NOW),
        queue(welcome, people.jan, people.admin, campaign_id=CAMPAIGN, state="sending"),
        queue(welcome, people.emma, people.admin, campaign_id=CAMPAIGN + 1, enqueued_at=NOW),
    ]
    return [row.id for row in rows]


def states(ids):
    db.session.expire_all()
    return [db.session.get(Message, i).state for i in ids]


def test_cancelling_a_campaign_cancels_only_its_rows_not_yet_claimed(campaign_rows):
    ledger.cancel_queued(CAMPAIGN)
    assert states(campaign_rows) == ["cancelled", "cancelled", "sending", "queued"]


def test_a_campaign_queued_again_queues_its_queued_rows_now_in_order(app, clock, campaign_rows):
    first, second = campaign_rows[:2]
    clock(NOW + timedelta(minutes=5))
    assert ledger.queue_again(CAMPAIGN) == 2
    assert queued_ids() == [[first, second]]
    enqueued = [db.session.get(Message, i).enqueued_at for i in campaign_rows]
    assert enqueued == [NOW + timedelta(minutes=5)] * 2 + [None, NOW]
    assert states(campaign_rows) == ["queued", "queued", "sending", "queued"]


def test_rows_queued_again_in_a_block_that_failed_are_dispatched_at_once(app, clock, campaign_rows):
    with pytest.raises(LookupError), ledger.deferred_enqueue():
        ledger.queue_again(CAMPAIGN)
        raise LookupError("the batch failed")
    assert queued_ids() == []
    assert ledger.dispatch_due(OpenUntil(lambda: True)) == 2  # not left for the stale bound
    assert queued_ids() == [campaign_rows[:2]]


def test_counts_are_per_state_and_only_of_the_states_asked_for(campaign_rows):
    assert ledger.counts(CAMPAIGN) == {"queued": 2, "sending": 1}
    assert ledger.counts(CAMPAIGN, ["sending", "sent"]) == {"sending": 1}
    assert ledger.counts(CAMPAIGN + 1) == {"queued": 1}


def test_known_dedupe_keys_are_those_the_ledger_holds(app, welcome, people):
    queue(welcome, people.jan, people.admin, dedupe_key="c7:jan")
    assert ledger.known_dedupe_keys(["c7:jan", "c7:emma"]) == {"c7:jan"}
    assert ledger.known_dedupe_keys([]) == set()


def recipient(person, language):
    return Recipient(person.email, person.first_name, language, person.id, person.organisation_id)


def test_a_campaign_row_is_marketing_from_its_sender_queued_now(
    app, clock, welcome, people, monkeypatch
):
    topic = add_topic("Newsletter")
    builder = ledger.RowBuilder(welcome, people.admin, campaign_id=CAMPAIGN, topic_id=topic.id)
    row = builder.row(recipient(people.jan, "nl"), module="contact", record_id=41, dedupe_key="k")
    assert row == {
        "dedupe_key": "k",
        "campaign_id": CAMPAIGN,
        "template_version_id": welcome.current.id,
        "purpose": "marketing",
        "topic_id": topic.id,
        "sender_id": people.admin.id,
        "contact_id": people.jan.id,
        "organisation_id": people.org.id,
        "record_module": "contact",
        "record_id": 41,
        "recipient_email": "jan@devries.example",
        "recipient_name": "Jan",
        "from_address": "Ada Admin <ada@example.com>",
        "locale": "nl",
        "token": row["token"],
        "state": "queued",
        "created_at": NOW,
        "enqueued_at": NOW,
    }
    assert len(row["token"]) == 32


def test_a_campaign_row_is_written_from_the_variant_in_the_recipient_s_language(
    app, welcome, people
):
    dutch = create_variant(welcome, "nl", user=people.admin)
    builder = ledger.RowBuilder(welcome, people.admin)
    rows = [
        builder.row(recipient(person, language), module="contact", record_id=1, dedupe_key=key)
        for person, language, key in ((people.jan, "nl", "a"), (people.emma, "en", "b"))
    ]
    assert [row["template_version_id"] for row in rows] == [dutch.current.id, welcome.current.id]


def test_a_campaign_row_without_a_sender_is_the_system_s(app, welcome, people):
    app.config["CENTRAL_FROM"] = "crm@company.example"
    builder = ledger.RowBuilder(welcome, None)
    row = builder.row(recipient(people.emma, ""), module="contact", record_id=1, dedupe_key="k")
    assert row["sender_id"] is None and row["campaign_id"] is None and row["topic_id"] is None
    assert row["from_address"].endswith(" <crm@company.example>")


def test_rows_written_twice_are_written_once_and_only_queued_ones_returned(app, welcome, people):
    builder = ledger.RowBuilder(welcome, people.admin, campaign_id=CAMPAIGN)
    rows = [
        builder.row(recipient(person, "en"), module="contact", record_id=n, dedupe_key=f"k{n}")
        for n, person in enumerate((people.jan, people.emma, people.jan))
    ]
    ids = ledger.write_rows(rows)
    assert len(ids) == 3 and ids == sorted(ids)
    db.session.execute(Message.__table__.update().where(Message.id == ids[1]).values(state="sent"))
    db.session.commit()
    assert ledger.write_rows(rows) == [ids[0], ids[2]]
    assert db.session.scalar(db.select(db.func.count(Message.id))) == 3
    assert ledger.write_rows([]) == []


def test_the_rows_written_are_found_with_a_plan_made_for_the_table_as_it_is_now(
    app, welcome, people
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    builder = ledger.RowBuilder(welcome, people.admin)
    row = builder.row(recipient(people.jan, "nl"), module="contact", record_id=1, dedupe_key="k")
    ledger.write_rows([row])
    assert db.session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
    db.session.commit()  # for the rest of the transaction only
    assert db.session.scalar(text("SHOW plan_cache_mode")) == "auto"


# -- single messages --------------------------------------------------------------------------


def test_a_message_goes_to_the_record_s_recipient_in_their_language(app, welcome, people):
    message = ledger.new_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, dedupe_key="d"
    )
    assert (message.recipient_email, message.contact_id) == ("jan@devries.example", people.jan.id)
    assert (message.organisation_id, message.record_id) == (people.org.id, people.jan.id)
    assert message.record_module == "contact"
    assert (message.locale, message.from_address) == ("nl", "Ada Admin <ada@example.com>")
    assert (message.dedupe_key, message.test, message.purpose) == ("d", False, "marketing")
    assert message.template_version is welcome.current
    assert message.attach_pdf_ids is None and message.next_attempt_at is None
    assert (message.to_extra, message.cc, message.bcc) == (None, None, None)
    assert len(message.token) == 32


def test_a_message_names_the_module_and_record_it_was_written_for(app, welcome, people):
    message = ledger.new_message(
        welcome, module="organisation", record=people.org, sender_user=people.admin
    )
    assert (message.record_module, message.record_id) == ("organisation", people.org.id)
    assert message.recipient_email == "info@devries.example"


def test_a_message_is_written_from_the_variant_in_the_recipient_s_language(app, welcome, people):
    dutch = create_variant(welcome, "nl", user=people.admin)
    versions = [
        ledger.new_message(
            welcome, module="contact", record=person, sender_user=people.admin
        ).template_version
        for person in (people.jan, people.emma)
    ]
    assert versions == [dutch.current, welcome.current]


def test_the_locale_is_the_one_chosen_else_the_recipient_s_the_template_s_the_sender_s(
    app, welcome, people
):
    def locale(language, **values):
        to = Recipient("x@elsewhere.example", "X", language, None, None)
        return ledger.new_message(
            welcome, module="contact", record=people.jan, sender_user=people.admin, to=to, **values
        ).locale

    welcome.language, people.admin.language = "fr", "de"
    assert locale("nl", locale="it") == "it"
    assert locale("nl") == "nl"
    assert locale("") == "fr"
    welcome.language = ""
    assert locale("") == "de"


def test_a_test_send_goes_to_the_user_and_stays_out_of_the_record(app, welcome, people):
    message = ledger.new_message(
        welcome,
        module="contact",
        record=people.jan,
        sender_user=people.admin,
        test_to=people.admin,
    )
    assert (message.recipient_email, message.recipient_name) == ("ada@example.com", "Ada Admin")
    assert (message.contact_id, message.organisation_id, message.test) == (None, None, True)
    assert message.locale == "nl"  # the record's recipient's language all the same


def test_a_message_to_an_address_given_carries_what_it_was_given(app, welcome, people):
    topic = add_topic("Events")
    message = ledger.new_message(
        welcome.current,
        module="contact",
        record=people.jan,
        sender_user=people.admin,
        to=Recipient("x@elsewhere.example", "X", "en", None, None),
        attach_pdf_ids=[3],
        not_before=NOW,
        topic_id=topic.id,
        to_extra=["y@elsewhere.example"],
        cc=["c@elsewhere.example"],
        bcc=["b@elsewhere.example"],
    )
    assert (message.recipient_email, message.contact_id, message.locale) == (
        "x@elsewhere.example",
        None,
        "en",
    )
    assert (message.attach_pdf_ids, message.next_attempt_at, message.topic_id) == (
        [3],
        NOW,
        topic.id,
    )
    assert message.to_extra == ["y@elsewhere.example"]
    assert (message.cc, message.bcc) == (["c@elsewhere.example"], ["b@elsewhere.example"])


@pytest.mark.parametrize(("field", "named"), [("to_extra", "To"), ("cc", "Cc"), ("bcc", "Bcc")])
def test_a_bad_address_is_refused_naming_the_list_it_is_in(app, welcome, people, field, named):
    with pytest.raises(AddressesInvalid, match=f"^{named}: “no-at-sign” is not"):
        ledger.new_message(
            welcome,
            module="contact",
            record=people.jan,
            sender_user=people.admin,
            **{field: ["no-at-sign"]},
        )


def test_a_record_without_an_address_has_no_message(app, welcome, people):
    people.jan.email = ""
    with pytest.raises(ledger.NoRecipient, match=f"contact {people.jan.id} has no e-mail"):
        ledger.new_message(welcome, module="contact", record=people.jan, sender_user=None)


def test_a_queued_message_is_put_on_the_queue_unless_held_back_or_asked_not_to(
    app, welcome, people
):
    def send(contact, **values):
        return mail.queue_message(
            welcome, module="contact", record=contact, sender_user=people.admin, **values
        )

    going = send(people.jan)
    assert queued_ids() == [[going.id]]
    send(people.emma, enqueue=False)
    mail.suppress(people.emma.email, "unsubscribed")
    held = send(people.emma)
    assert held.state == "suppressed" and queued_ids() == [[going.id]]


def test_a_queued_test_send_of_a_topic_goes_to_the_user_with_its_topic(app, welcome, people):
    topic = add_topic("News")
    message = mail.queue_message(
        welcome,
        module="contact",
        record=people.jan,
        sender_user=people.admin,
        test_to=people.admin,
        topic_id=topic.id,
    )
    row = reloaded(message)
    assert (row.recipient_email, row.test, row.topic_id) == ("ada@example.com", True, topic.id)
    assert queued_ids() == [[message.id]]


def test_messages_held_back_for_later_wait_in_the_scheduler_until_their_time(
    app, clock, welcome, people
):
    later = NOW + timedelta(hours=2)

    def new(contact, **values):
        return ledger.new_message(
            welcome, module="contact", record=contact, sender_user=people.admin, **values
        )

    now, held_until, suppressed = new(people.jan), new(people.jan, not_before=later), None
    mail.suppress(people.emma.email, "unsubscribed")
    suppressed = new(people.emma, not_before=later)
    ledger.queue_messages([now, held_until, suppressed])
    assert queued_ids() == [[now.id]]
    scheduled = ScheduledJobRegistry(queue=broker.get_queue(broker.EMAILS))
    [job_id] = scheduled.get_job_ids()
    assert broker.get_queue(broker.EMAILS).fetch_job(job_id).args == ([held_until.id],)
    assert scheduled.get_scheduled_time(job_id).replace(tzinfo=None) == later
    assert reloaded(held_until).enqueued_at == later and reloaded(now).enqueued_at == NOW
    assert reloaded(suppressed).enqueued_at is None


# -- queuing in batches ----------------------------------------------------------------------


def test_ids_are_queued_in_batches_of_the_batch_size_and_marked_queued(
    app, clock, monkeypatch, welcome, people
):
    app.config["BATCH_SIZE"] = 2
    monkeypatch.setattr(ledger, "MARK_CHUNK", 2)
    ids = [queue(welcome, people.jan, people.admin).id for _ in range(5)]
    updates = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE MESSAGES"):
            updates.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        ledger.enqueue_ids(ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert queued_ids() == [ids[0:2], ids[2:4], ids[4:]]
    assert len(updates) == 3  # 2 + 2 + 1 rows marked
    db.session.expire_all()
    assert all(db.session.get(Message, i).enqueued_at == NOW for i in ids)
    ledger.enqueue_ids([])
    assert len(queued_ids()) == 3


def test_ids_queued_inside_deferred_enqueue_go_together_at_its_end(app, welcome, people):
    ids = [queue(welcome, people.jan, people.admin).id for _ in range(3)]
    with ledger.deferred_enqueue():
        ledger.enqueue_ids(ids[:1])
        with ledger.deferred_enqueue():
            ledger.enqueue_ids(ids[1:])
        assert queued_ids() == []  # the inner end leaves them to the outer
    assert queued_ids() == [ids]
    assert all(reloaded(Message(id=i)).enqueued_at is not None for i in ids)


def test_ids_of_a_deferred_block_that_failed_are_left_to_the_dispatcher(app, welcome, people):
    message = queue(welcome, people.jan, people.admin)
    with pytest.raises(LookupError), ledger.deferred_enqueue():
        ledger.enqueue_ids([message.id])
        raise LookupError("the batch failed")
    assert queued_ids() == []
    ledger.enqueue_ids([message.id])  # outside any block again: queued at once
    assert queued_ids() == [[message.id]]


# -- outcomes and the sent webhook -------------------------------------------------------------


@pytest.fixture(params=["session", "recorder"])
def writer(request, app):
    """Outcomes written in the session's transaction, or through a recorder."""
    if request.param == "session":
        yield None
        return
    with Recorder() as recorder:
        yield recorder


def test_a_sent_row_records_the_reply_and_clears_the_error_and_lease(
    app, clock, writer, welcome, people
):
    message = queue(
        welcome, people.jan, people.admin, state="sending", lease_until=NOW, last_error="451"
    )
    ledger.mark_sent(message, "<m1@designer.test>", "250 queued", writer)
    if writer is not None:
        writer.wait()
    expected = ("sent", "<m1@designer.test>", "250 queued", NOW, None, "")
    assert (
        message.state,
        message.message_id,
        message.smtp_reply,
        message.sent_at,
        message.lease_until,
        message.last_error,
    ) == expected
    assert message not in db.session.dirty  # the object holds what the row holds
    row = reloaded(message)
    assert (
        row.state,
        row.message_id,
        row.smtp_reply,
        row.sent_at,
        row.lease_until,
        row.last_error,
    ) == expected


@pytest.mark.parametrize(
    ("write", "attempts", "state"),
    [
        (lambda m, r: ledger.mark_sent(m, "<m6@designer.test>", "250 ok", r), 1, "sent"),
        (lambda m, r: ledger.mark_failed(m, "550 no", r), 1, "failed"),
        (lambda m, r: ledger.mark_retry(m, "451 later", r), 1, "queued"),
        (lambda m, r: ledger.mark_retry(m, "451 later", r), 8, "failed"),  # the last attempt
        (lambda m, r: ledger.release(m, r), 1, "queued"),
        (lambda m, r: ledger.mark_suppressed(m, "held back", r), 1, "suppressed"),
    ],
)
def test_an_outcome_through_the_recorder_leaves_the_session_s_transaction_alone(
    app, welcome, people, write, attempts, state
):
    app.config["MAX_ATTEMPTS"] = 8
    message = queue(welcome, people.jan, people.admin, state="sending", attempts=attempts)
    db.session.refresh(message)  # loaded: nothing is flushed to read it
    people.jan.first_name = "Johannes"  # the session's own change, not committed
    with Recorder() as recorder:
        write(message, recorder)
    db.session.rollback()
    assert reloaded(message).state == state
    assert people.jan.first_name == "Jan"


def test_an_outcome_carries_the_message_id_and_subject_the_object_has_by_now(app, welcome, people):
    message = queue(welcome, people.jan, people.admin, state="sending")
    db.session.refresh(message)  # loaded: nothing is flushed to read it
    message.message_id, message.subject = "<m2@designer.test>", "Welcome, Jan!"
    with Recorder() as recorder:
        ledger.mark_failed(message, "550 no", recorder)
    row = reloaded(message)
    assert (row.state, row.message_id, row.subject) == (
        "failed",
        "<m2@designer.test>",
        "Welcome, Jan!",
    )


def test_the_sent_webhook_tells_what_was_sent_to_whom(app, clock, hook, writer, welcome, people):
    message = queue(
        welcome, people.jan, people.admin, state="sending", campaign_id=CAMPAIGN, subject="Hi"
    )
    ledger.mark_sent(message, "<m3@designer.test>", "250 ok", writer)
    if writer is None:
        db.session.commit()
    assert sent_events() == [
        {
            "message_id": message.id,
            "message_id_header": "<m3@designer.test>",
            "to": "jan@devries.example",
            "subject": "Hi",
            "campaign_id": CAMPAIGN,
            "record": {"module": "contact", "id": people.jan.id},
            "sent_at": NOW.isoformat(),
        }
    ]


def test_without_subscribers_a_sent_row_writes_no_webhook(app, writer, welcome, people):
    message = queue(welcome, people.jan, people.admin, state="sending")
    ledger.mark_sent(message, "<m4@designer.test>", "250 ok", writer)
    if writer is not None:
        writer.wait()
    assert reloaded(message).state == "sent" and sent_events() == []


def test_a_webhook_that_cannot_be_written_never_stops_sending(app, hook, welcome, people, caplog):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not hold the webhook row to its endpoint")
    message = queue(welcome, people.jan, people.admin, state="sending")
    webhooks.subscribers("message.sent")  # remembered: the endpoint is gone when it is used
    db.session.execute(WebhookEndpoint.__table__.delete())
    db.session.commit()
    with Recorder() as recorder:
        ledger.mark_sent(message, "<m5@designer.test>", "250 ok", recorder)
    assert reloaded(message).state == "sent"
    logged = [r.getMessage() for r in caplog.records if r.name == ledger.__name__]
    assert logged == [f"message.sent of message {message.id} not recorded for webhooks"]


def test_a_sent_row_that_cannot_be_written_is_the_sending_loop_s_error(app, hook, welcome, people):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not hold a value to its column's length")
    message = queue(welcome, people.jan, people.admin, state="sending")
    with pytest.raises(Exception, match="too long"), Recorder() as recorder:
        ledger.mark_sent(message, "<" + "x" * 400 + ">", "250 ok", recorder)
    assert reloaded(message).state == "sending" and sent_events() == []

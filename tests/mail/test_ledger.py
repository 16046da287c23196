"""The ledger's failure and recovery states: attempts, give-up, backoff windows, leases
renewed and lost, a pause in the middle of a batch, and stale jobs dispatched again.
Real SMTP on loopback."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import false, literal, select

from designer import broker, mail
from designer.clock import utcnow
from designer.extensions import db
from designer.mail import ledger
from designer.mail.lease import claim_lease
from designer.mail.models import Message

CAMPAIGN = 7
TRY_LATER = "451 4.3.0 try again later"


def queue(welcome, contact, sender, **values):
    message = mail.queue_message(
        welcome.current, module="contact", record=contact, sender_user=sender, enqueue=False
    )
    for name, value in values.items():
        setattr(message, name, value)
    db.session.commit()
    return message


def reloaded(message):
    db.session.expire_all()
    return db.session.get(Message, message.id)


def make_due(message):
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


class OpenUntil:
    """A campaign gate that lets campaign ``CAMPAIGN`` send while ``open()`` says so."""

    def __init__(self, open):
        self.open = open

    def sending_ids(self):
        ids = select(literal(CAMPAIGN))
        return ids if self.open() else ids.where(false())

    def untracked(self, campaign_ids):
        return set()

    def finish(self, campaign_ids):
        return None


def test_each_claim_counts_an_attempt_and_the_last_one_gives_up(
    smtp_app, smtp_server, welcome, people
):
    smtp_app.config["MAX_ATTEMPTS"] = 3
    message = queue(welcome, people.jan, people.admin)
    for attempt in (1, 2):
        smtp_server.handler.answers.append(TRY_LATER)
        assert mail.deliver_batch([message.id])["retry"] == 1
        message = reloaded(message)
        assert (message.state, message.attempts) == ("queued", attempt)
        make_due(message)
    smtp_server.handler.answers.append(TRY_LATER)
    assert mail.deliver_batch([message.id])["retry"] == 1
    message = reloaded(message)
    assert (message.state, message.attempts) == ("failed", 3)
    assert message.last_error.startswith("gave up after 3 attempts: ")
    assert "451" in message.last_error and message.lease_until is None
    make_due(message)
    assert mail.deliver_batch([message.id])["skipped"] == 1
    assert smtp_server.handler.messages() == []


@pytest.mark.parametrize(("attempts", "low", "high"), [(1, 80, 120), (2, 160, 240), (4, 640, 960)])
def test_retries_back_off_exponentially_within_a_fifth_either_way(
    app, welcome, people, attempts, low, high
):
    app.config["RETRY_BASE_SECONDS"] = 100
    message = queue(welcome, people.jan, people.admin, attempts=attempts, state="sending")
    waits = []
    for _ in range(40):
        before = utcnow()
        ledger.mark_retry(message, "451 later")
        after = utcnow()
        message = reloaded(message)
        assert message.state == "queued" and message.enqueued_at is None
        assert message.lease_until is None and message.last_error == "451 later"
        assert before + timedelta(seconds=low) <= message.next_attempt_at
        assert message.next_attempt_at <= after + timedelta(seconds=high)
        waits.append((message.next_attempt_at - before).total_seconds())
    # The jitter spreads retries over the whole window, not one point of it.
    assert max(waits) - min(waits) > (high - low) / 4


def test_the_last_attempt_fails_at_once_and_the_one_before_it_still_retries(app, welcome, people):
    app.config["MAX_ATTEMPTS"] = 5
    last = queue(welcome, people.jan, people.admin, attempts=5, state="sending")
    before_last = queue(welcome, people.emma, people.admin, attempts=4, state="sending")
    ledger.mark_retry(last, "timeout")
    ledger.mark_retry(before_last, "timeout")
    assert reloaded(last).state == "failed"
    assert reloaded(last).last_error == "gave up after 5 attempts: timeout"
    assert reloaded(before_last).state == "queued"


def test_a_short_lease_is_renewed_while_a_long_batch_goes_out(
    smtp_app, smtp_server, welcome, people
):
    smtp_app.config["LEASE_SECONDS"] = 2
    smtp_server.handler.delay = 0.25
    ids = [queue(welcome, people.jan, people.admin).id for _ in range(12)]
    started = time.monotonic()
    outcome = mail.deliver_batch(ids)
    assert time.monotonic() - started > 3  # past the lease: it must have been renewed
    assert outcome["sent"] == 12 and outcome["skipped"] == 0
    assert len(smtp_server.handler.messages()) == 12


def test_a_lease_is_renewed_only_after_a_third_of_it_and_only_for_rows_still_ours(
    app, welcome, people
):
    app.config["LEASE_SECONDS"] = 3
    ours, taken = (queue(welcome, person, people.admin) for person in (people.jan, people.emma))
    lease = claim_lease([ours.id, taken.id])
    first_until = lease.until
    lease.renew_if_due(lambda: [ours.id, taken.id])
    assert reloaded(ours).lease_until == first_until  # too early: nothing written
    # The reaper gave the other row to another worker meanwhile.
    db.session.execute(
        Message.__table__.update()
        .where(Message.id == taken.id)
        .values(lease_until=utcnow() + timedelta(minutes=5))
    )
    db.session.commit()
    time.sleep(1.1)
    lease.renew_if_due(lambda: [ours.id, taken.id])
    assert reloaded(ours).lease_until > first_until
    assert lease.holds(ours.id) and not lease.holds(taken.id)
    time.sleep(2.0)  # past the first lease's end, within the renewed one
    assert lease.holds(ours.id)


def test_a_lease_not_renewed_in_time_holds_nothing(app, welcome, people):
    app.config["LEASE_SECONDS"] = 1
    message = queue(welcome, people.jan, people.admin)
    lease = claim_lease([message.id])
    assert lease.holds(message.id)
    time.sleep(1.1)
    assert not lease.holds(message.id)


def test_a_pause_in_the_middle_of_a_batch_gives_the_rest_back_with_their_attempt(
    smtp_app, smtp_server, welcome, people
):
    smtp_server.handler.delay = 0.6  # longer than the gate's half-second look-ups
    ids = [queue(welcome, people.jan, people.admin, campaign_id=CAMPAIGN).id for _ in range(3)]
    gate = OpenUntil(lambda: not smtp_server.handler.received)
    outcome = mail.deliver_batch(ids, gate)
    assert outcome["sent"] == 1 and outcome["released"] == 2
    rows = [reloaded(Message(id=i)) for i in ids]
    assert [row.state for row in rows] == ["sent", "queued", "queued"]
    for row in rows[1:]:
        assert row.attempts == 0 and row.lease_until is None and row.enqueued_at is None
    # Given back, they are claimed again once the campaign goes on.
    assert mail.deliver_batch(ids, OpenUntil(lambda: True))["sent"] == 2


def test_a_paused_campaign_has_nothing_claimed(smtp_app, smtp_server, welcome, people):
    message = queue(welcome, people.jan, people.admin, campaign_id=CAMPAIGN)
    assert mail.deliver_batch([message.id], OpenUntil(lambda: False))["skipped"] == 1
    message = reloaded(message)
    assert (message.state, message.attempts) == ("queued", 0)
    assert smtp_server.handler.messages() == []


def test_only_jobs_gone_stale_are_dispatched_again(app, welcome, people):
    app.config["STALE_ENQUEUE_SECONDS"] = 120
    now = utcnow()
    fresh = queue(welcome, people.jan, people.admin, enqueued_at=now - timedelta(seconds=100))
    stale = queue(welcome, people.emma, people.admin, enqueued_at=now - timedelta(seconds=140))
    never = queue(welcome, people.jan, people.admin)
    later = queue(welcome, people.emma, people.admin, next_attempt_at=now + timedelta(hours=1))
    due = queue(welcome, people.jan, people.admin, next_attempt_at=now - timedelta(seconds=5))
    assert mail.dispatch_due() == 3
    dispatched = broker.get_queue(broker.EMAILS).jobs
    assert sorted(i for job in dispatched for i in job.args[0]) == sorted(
        [stale.id, never.id, due.id]
    )
    for message in (stale, never, due):
        assert reloaded(message).enqueued_at >= now
    assert reloaded(fresh).enqueued_at < now and reloaded(later).enqueued_at is None
    assert mail.dispatch_due() == 0  # just queued: not stale any more


def test_an_expired_lease_is_queued_again_at_once_and_a_live_one_is_not(app, welcome, people):
    now = utcnow()
    expired = queue(
        welcome,
        people.jan,
        people.admin,
        state="sending",
        lease_until=now - timedelta(seconds=1),
        enqueued_at=now,
        next_attempt_at=now + timedelta(hours=1),
    )
    live = queue(
        welcome, people.emma, people.admin, state="sending", lease_until=now + timedelta(minutes=1)
    )
    assert mail.requeue_expired_leases() == 1
    expired = reloaded(expired)
    assert expired.state == "queued" and expired.lease_until is None
    assert expired.enqueued_at is None and expired.next_attempt_at is None
    assert reloaded(live).state == "sending"

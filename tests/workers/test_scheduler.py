"""Two ``designer scheduler`` processes at once enqueue each periodic job once a period;
when the leader is killed, the other takes over within the lock's expiry."""

import os
import signal
import socket
import time
from itertools import pairwise

from rq.cron import get_cron_job_history_key
from support import wait_for

from designer.broker import SCHEDULER_LEADER_KEY, get_redis

#: Short periods and lock, so that the test runs in seconds.
FAST = {"REAP_INTERVAL": "1", "TRACKING_FLUSH_SECONDS": "1", "SCHEDULER_LOCK_SECONDS": "2"}
EVERY_SECOND = ("workers.jobs.reap_and_dispatch", "workers.jobs.flush_tracking")
EVERY_MINUTE = ("workers.jobs.poll_bounces", "workers.jobs.sync_crm")


def leader():
    value = get_redis().get(SCHEDULER_LEADER_KEY)
    return value.decode() if value else None


def leads(process):
    """True when the lock's token names ``process`` (host:pid:random, RQ's scheduler name)."""
    return (leader() or "").startswith(f"{socket.gethostname()}:{process.pid}:")


def enqueue_times(job_name):
    """When the schedulers enqueued ``job_name``, oldest first (RQ's history of cron jobs)."""
    history = get_redis().zrange(get_cron_job_history_key(job_name), 0, -1, withscores=True)
    return sorted(score for _, score in history)


def assert_once_a_period(job_name, period):
    times = enqueue_times(job_name)
    gaps = [later - earlier for earlier, later in pairwise(times)]
    # Late is possible on a busy machine (the next one then comes a little early); two
    # schedulers enqueuing each on their own would leave gaps of any length.
    assert times and min(gaps, default=period) >= 0.5 * period, (job_name, gaps)
    return times


def test_two_schedulers_enqueue_each_job_once_and_a_standby_takes_over(app, designer_process):
    first = designer_process("scheduler", env=FAST)
    assert wait_for(lambda: leads(first), timeout=30), first.log.read_text()[-2000:]
    second = designer_process("scheduler", env=FAST)
    assert wait_for(lambda: b"standing by" in second.log.read_bytes(), timeout=30)
    time.sleep(4)
    assert leads(first)
    for name in EVERY_SECOND:
        assert len(assert_once_a_period(name, 1)) >= 4
    assert [len(enqueue_times(name)) for name in EVERY_MINUTE] == [1, 1]

    os.kill(first.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    assert wait_for(lambda: leads(second), timeout=10)
    # The lock's expiry, plus the standby's pace (a third of it), plus a busy machine's delay.
    assert time.monotonic() - killed_at <= 2 + 2 / 3 + 1
    time.sleep(3)
    for name in EVERY_SECOND:
        times = assert_once_a_period(name, 1)
        assert times[-1] > time.time() - 1.5  # the standby goes on with the schedule
    # A takeover goes on from the last enqueue: what ran this minute does not run again.
    assert [len(enqueue_times(name)) for name in EVERY_MINUTE] == [1, 1]

    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0
    assert leader() is None  # a clean exit hands the lock back at once


def test_the_lock_has_one_holder_at_a_time(app):
    from workers.scheduler import LeaderLock

    first, second = (LeaderLock(get_redis(), name, 0.3) for name in ("first", "second"))
    assert first.hold() and not second.hold() and leader() == "first"
    assert wait_for(lambda: second.hold(), timeout=3)  # first stopped renewing: it expired
    assert leader() == "second"
    assert not first.hold()  # it learns that it lost, and enqueues nothing
    first.release()
    assert leader() == "second"  # releasing touches only a lock one holds
    second.release()
    assert leader() is None and first.hold()


def test_a_new_leader_goes_on_from_the_last_enqueue(app):
    from datetime import UTC, datetime

    from rq import cron_job_registry

    from workers import jobs
    from workers.scheduler import LeadingScheduler

    connection = get_redis()
    scheduler = LeadingScheduler(connection, 3)
    hourly = scheduler.register(jobs.poll_bounces, "periodic", interval=3600)
    fresh = scheduler.register(jobs.sync_crm, "periodic", interval=3600)
    ran_at = time.time() - 60
    cron_job_registry.add(hourly.name, connection, enqueue_timestamp=ran_at)
    scheduler.tick()
    assert enqueue_times(hourly.name) == [] and len(enqueue_times(fresh.name)) == 1
    assert hourly.next_enqueue_time == datetime.fromtimestamp(ran_at + 3600, UTC)
    scheduler.leader.release()

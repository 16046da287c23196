"""The scheduler: the periodic jobs, enqueued by one scheduler at a time however many run.

Any number of hosts may run ``designer scheduler``; they agree on a leader through a
lock in Redis (``SET key token NX PX``, redis-py's ``Lock``) whose token names the
scheduler (host, process, random part). The leader renews it every third of
``SCHEDULER_LOCK_SECONDS`` and enqueues the periodic jobs; the others stand by and try
to take it at the same pace. A leader that stops cleanly releases the lock at once; one
that dies lets it expire, and a standby leads within ``SCHEDULER_LOCK_SECONDS``.

A new leader goes on from when each job was last enqueued, by whichever scheduler (RQ's
record of cron jobs), so a takeover runs no job twice in one period.

The leader also keeps the IMAP IDLE watchers of the linked mailboxes
(``designer.mail.idle``): started and kept in step while it leads, stopped when it
stops leading, so each mailbox is watched by one scheduler.
"""

import logging
import time
from contextlib import suppress
from datetime import UTC, datetime

from redis.exceptions import LockError, LockNotOwnedError, RedisError
from redis.lock import Lock
from rq import cron_job_registry
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from designer.broker import SCHEDULER_LEADER_KEY

#: After Redis could not be reached, wait this long before trying again.
REDIS_RETRY_SECONDS = 1.0


class LeaderLock:
    """The scheduler leader's lock: taken with ``SET NX PX``, renewed only by its holder."""

    def __init__(self, connection, token, seconds):
        self.token = token
        self.leading = False
        self.lock = Lock(connection, SCHEDULER_LEADER_KEY, timeout=seconds, thread_local=False)

    def hold(self):
        """Renew the lock this scheduler holds, or try to take it; True while it leads."""
        try:
            if self.leading:
                self.lock.reacquire()
            else:
                self.leading = self.lock.acquire(blocking=False, token=self.token)
        except LockNotOwnedError:  # it expired (this process stalled) and may be another's
            self.leading = False
        return self.leading

    def release(self):
        """Give the lock up at once (a clean exit), if this scheduler still holds it."""
        if self.leading:
            self.leading = False
            with suppress(LockError, RedisError):
                self.lock.release()


class LeadingScheduler(CronScheduler):
    """RQ's cron scheduler that enqueues only while it holds the leader lock."""

    def __init__(self, connection, lock_seconds, logging_level=logging.INFO, watchers=None):
        super().__init__(connection=connection, logging_level=logging_level)
        self.renew_every = lock_seconds / 3
        self.standing_by = False
        self.leader = LeaderLock(connection, self.name, lock_seconds)
        #: The mailboxes' IDLE watchers (``designer.mail.idle.Watchers``), if any.
        self.watchers = watchers

    def start(self):
        self.log.info("Scheduler %s: starting, leader lock %s", self.name, SCHEDULER_LEADER_KEY)
        self._install_signal_handlers()
        try:
            self.register_birth()
            while True:
                time.sleep(self.tick())
        except (KeyboardInterrupt, StopRequested):
            self.log.info("Scheduler %s: stop requested", self.name)
        finally:
            if self.watchers is not None:
                self.watchers.stop_all()
            self.leader.release()
            with suppress(RedisError):
                self.register_death()

    def tick(self):
        """Lead (enqueue what is due) or stand by; return how long to sleep."""
        try:
            was_leading = self.leader.leading
            if not self.leader.hold():
                self.stand_by(was_leading)
                return self.renew_every
            self.standing_by = False
            if not was_leading:
                self.log.info("Scheduler %s: leading", self.name)
                self.resume_schedule()
            if self.enqueue_jobs():
                self.save()
            if self.watchers is not None:
                self.watchers.sync()
            self.heartbeat()
            return min(self.calculate_sleep_interval(), self.renew_every)
        except RedisError as exc:
            # Still the leader if Redis comes back before the lock expires: renewing says.
            self.log.warning("Scheduler %s: Redis unavailable (%s)", self.name, exc)
            return REDIS_RETRY_SECONDS

    def stand_by(self, was_leading):
        """Say once that another scheduler leads; keep this one listed as alive."""
        if self.watchers is not None:
            self.watchers.stop_all()
        if was_leading or not self.standing_by:
            holder = self.connection.get(SCHEDULER_LEADER_KEY)
            self.log.info(
                "Scheduler %s: %s, standing by (%s leads)",
                self.name,
                "lost the leader lock" if was_leading else "not leading",
                holder.decode() if holder else "nobody",
            )
        self.standing_by = True
        self.heartbeat()

    def resume_schedule(self):
        """Start each job's period from its last enqueue by any scheduler, not from now."""
        for job in self.get_jobs():
            score = self.connection.zscore(cron_job_registry.get_registry_key(), job.name)
            if score is None:
                continue
            last = datetime.fromtimestamp(score, UTC)
            if job.latest_enqueue_time is None or job.latest_enqueue_time < last:
                job.set_enqueue_time(last)

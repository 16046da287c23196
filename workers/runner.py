"""Worker and scheduler entry points, started by ``designer worker`` and ``designer serve``.

Both outlive a Redis restart: when Redis stops answering, RQ's worker or
scheduler gives up with a connection error; the loop here waits until Redis
answers again and starts a new one (queued work lost with a Redis that keeps
nothing comes back through the ledger: see ``designer.mail.ledger.dispatch_due``).
"""

import gc
import logging
import os
import signal
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker, Worker
from rq.worker import WorkerStatus
from sqlalchemy.orm import configure_mappers

from designer.broker import (
    CRM_WRITEBACK,
    IN_PROCESS,
    PERIODIC,
    QUEUES,
    all_queues,
    get_redis,
)
from designer.mail import idle
from workers import jobs
from workers.scheduler import LeadingScheduler


class DesignerWorker(Worker):
    """RQ's forking worker, except for e-mail batches, tracking flushes and CRM events, run
    in the worker.

    Other jobs (PDF renders, housekeeping) still get a work horse of their own, so
    one that crashes or leaks cannot take the worker with it. An e-mail batch is
    database and SMTP work in plain Python, and a horse for it would cost some
    0.1 s every time (the fork, new database connections, every query compiled and
    the template parsed again); run here, all of that stays warm from one batch to
    the next. It runs as RQ's ``SimpleWorker`` runs jobs: same timeout (SIGALRM),
    same heartbeat, same handling of success and failure.
    """

    def execute_job(self, job, queue):
        if job.func_name not in IN_PROCESS:
            return super().execute_job(job, queue)
        execution = self.prepare_execution(job)
        self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)
        return None

    def get_heartbeat_ttl(self, job, working_time=0.0):
        if job.func_name in IN_PROCESS:
            return SimpleWorker.get_heartbeat_ttl(self, job, working_time)
        return super().get_heartbeat_ttl(job, working_time)


log = logging.getLogger(__name__)

#: Seconds between two attempts to reach Redis after it stopped answering.
RECONNECT_INTERVAL = 1.0
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def run_worker(app, burst=False, log_level="INFO", queues=QUEUES):
    """Work ``queues`` (all of them by default) until stopped (or empty, with ``burst``);
    when Redis stops answering, wait for it and carry on."""
    with app.app_context():
        if app.config.get("WORKER_NICE"):
            os.nice(app.config["WORKER_NICE"])  # pages and pixel hits come first
        configure_mappers()
        # What exists now is never garbage: keep the collector in each forked horse off it,
        # or its first collection writes to (copies) every page of the inherited heap.
        gc.collect()
        gc.freeze()
        connection = get_redis()
        while True:
            worker = DesignerWorker(all_queues(connection, queues), connection=connection)
            try:
                return worker.work(burst=burst, logging_level=log_level, with_scheduler=True)
            except REDIS_DOWN as exc:
                if worker._shutdown_requested_date is not None:
                    return None  # stopped (SIGTERM) while Redis was down: no waiting for it
                log.warning("worker: Redis stopped answering (%s); waiting for it", exc)
                wait_for_redis(connection)


def wait_for_redis(connection):
    """Block until Redis answers PING; SIGTERM and SIGINT end the process meanwhile."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit)
    while True:
        time.sleep(RECONNECT_INTERVAL)
        try:
            connection.ping()
        except REDIS_DOWN:
            continue
        log.warning("Redis answers again; carrying on")
        return


def _exit(signum, frame):
    raise SystemExit(0)


def run_scheduler(app, log_level="INFO"):
    """Enqueue the periodic jobs on time until stopped, while this scheduler leads."""
    with app.app_context():
        connection = get_redis()
        while True:
            try:
                return leading_scheduler(app, connection, log_level).start()
            except REDIS_DOWN as exc:
                log.warning("scheduler: Redis stopped answering (%s); waiting for it", exc)
                wait_for_redis(connection)


def leading_scheduler(app, connection, log_level):
    """The leader-locked cron scheduler with every periodic job of the product registered."""
    level = getattr(logging, log_level)
    scheduler = LeadingScheduler(
        connection,
        app.config["SCHEDULER_LOCK_SECONDS"],
        logging_level=level,
        watchers=idle.Watchers(app),
    )
    scheduler.register(jobs.reap_and_dispatch, PERIODIC, interval=app.config["REAP_INTERVAL"])
    scheduler.register(jobs.flush_tracking, PERIODIC, interval=app.config["TRACKING_FLUSH_SECONDS"])
    scheduler.register(jobs.poll_bounces, PERIODIC, interval=60, job_timeout=600)
    scheduler.register(jobs.append_sent_copies, PERIODIC, interval=30, job_timeout=600)
    scheduler.register(jobs.read_replies, PERIODIC, interval=60, job_timeout=600)
    scheduler.register(jobs.run_workflow_schedules, PERIODIC, interval=60, job_timeout=600)
    scheduler.register(jobs.sync_crm, PERIODIC, interval=60, job_timeout=900)
    scheduler.register(jobs.dispatch_webhooks, PERIODIC, interval=app.config["REAP_INTERVAL"])
    scheduler.register(jobs.push_crm_counts, CRM_WRITEBACK, interval=60, job_timeout=600)
    return scheduler

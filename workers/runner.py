"""Worker and scheduler entry points, started by ``designer worker`` and ``designer serve``."""

import logging

from rq import Worker
from rq.cron import CronScheduler

from designer.broker import get_redis
from workers import jobs
from workers.queues import PERIODIC, all_queues

#: Seconds between runs of the lease reaper and retry dispatcher.
REAP_INTERVAL = 15


def run_worker(app, burst=False, log_level="INFO"):
    """Work the e-mail, PDF and periodic queues until stopped (or empty, with ``burst``)."""
    with app.app_context():
        connection = get_redis()
        worker = Worker(all_queues(connection), connection=connection)
        return worker.work(burst=burst, logging_level=log_level)


def run_scheduler(app, log_level="INFO"):
    """Enqueue the periodic jobs on time until stopped."""
    with app.app_context():
        level = getattr(logging, log_level)
        scheduler = CronScheduler(connection=get_redis(), logging_level=level)
        scheduler.register(jobs.reap_and_dispatch, PERIODIC, interval=REAP_INTERVAL)
        scheduler.register(jobs.append_sent_copies, PERIODIC, interval=30, job_timeout=600)
        scheduler.start()

"""Worker and scheduler entry points, started by ``designer worker`` and ``designer serve``."""

import gc
import logging
import os

from rq import SimpleWorker, Worker
from rq.cron import CronScheduler
from rq.worker import WorkerStatus
from sqlalchemy.orm import configure_mappers

from designer.broker import CRM_WRITEBACK, IN_PROCESS, PERIODIC, all_queues, get_redis
from workers import jobs


class DesignerWorker(Worker):
    """RQ's forking worker, except for e-mail batches and tracking flushes, run in the worker.

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


def run_worker(app, burst=False, log_level="INFO"):
    """Work the e-mail, PDF and periodic queues until stopped (or empty, with ``burst``)."""
    with app.app_context():
        if app.config.get("WORKER_NICE"):
            os.nice(app.config["WORKER_NICE"])  # pages and pixel hits come first
        configure_mappers()
        # What exists now is never garbage: keep the collector in each forked horse off it,
        # or its first collection writes to (copies) every page of the inherited heap.
        gc.collect()
        gc.freeze()
        connection = get_redis()
        worker = DesignerWorker(all_queues(connection), connection=connection)
        return worker.work(burst=burst, logging_level=log_level, with_scheduler=True)


def run_scheduler(app, log_level="INFO"):
    """Enqueue the periodic jobs on time until stopped."""
    with app.app_context():
        level = getattr(logging, log_level)
        scheduler = CronScheduler(connection=get_redis(), logging_level=level)
        scheduler.register(jobs.reap_and_dispatch, PERIODIC, interval=app.config["REAP_INTERVAL"])
        scheduler.register(
            jobs.flush_tracking, PERIODIC, interval=app.config["TRACKING_FLUSH_SECONDS"]
        )
        scheduler.register(jobs.poll_bounces, PERIODIC, interval=60, job_timeout=600)
        scheduler.register(jobs.append_sent_copies, PERIODIC, interval=30, job_timeout=600)
        scheduler.register(jobs.run_workflow_schedules, PERIODIC, interval=60, job_timeout=600)
        scheduler.register(jobs.sync_crm, PERIODIC, interval=60, job_timeout=900)
        scheduler.register(jobs.dispatch_webhooks, PERIODIC, interval=app.config["REAP_INTERVAL"])
        scheduler.register(jobs.push_crm_counts, CRM_WRITEBACK, interval=60, job_timeout=600)
        scheduler.start()

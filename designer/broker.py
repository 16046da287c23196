"""Redis behind RQ, the queues, and the names of the jobs parts put on them.

Parts queue work through this module and never import ``workers``: a job is
named here by its dotted path (RQ imports it in the worker), so the parts
stay below the worker layer that calls them.

Nothing connects at import or in ``create_app``; redis-py opens its first
connection on first use. With no ``REDIS_URL`` the URL names the embedded
server's unix socket in the instance folder (see ``designer.embedded``).

Queues: ``emails`` carries batches of message ids, ``pdf`` PDF renders and
exports, ``periodic`` the scheduler's housekeeping (lease reaper, retry
dispatcher, tracking flush), the writing of a large started campaign's
ledger (it was the dispatcher's to start scheduled campaigns, and every
installation's workers take it first) and the counting of a large
campaign's report, ``workflows`` the processing of stored events,
``webhooks`` the deliveries of outbound webhooks,
``crm_writeback`` the counts written back to the CRM.
"""

from datetime import UTC

from flask import current_app
from redis import Redis
from rq import Queue

EMAILS = "emails"
PDF = "pdf"
PERIODIC = "periodic"
WORKFLOWS = "workflows"
#: Outbound webhook deliveries: after e-mail, so endpoints never hold up sending.
WEBHOOKS = "webhooks"
#: Writing counts back to the CRM: its own queue, after e-mail, so a slow or absent CRM
#: never holds up sending.
CRM_WRITEBACK = "crm_writeback"
#: In the order a worker takes jobs: the short housekeeping jobs first, then the
#: workflows' events, so neither waits behind the batches of a large campaign.
QUEUES = (PERIODIC, WORKFLOWS, EMAILS, WEBHOOKS, CRM_WRITEBACK, PDF)

#: The Redis key of the scheduler leader's lock; its value names the leading scheduler.
SCHEDULER_LEADER_KEY = "designer:scheduler:leader"

#: Jobs the parts queue, by the dotted path RQ imports them by in the worker.
SEND_MESSAGES = "workers.jobs.send_messages"
RENDER_EXPORT_CHUNK = "workers.jobs.render_export_chunk"
PROCESS_EVENT = "workers.jobs.process_event"
#: The event processor: every waiting event, in batches (``designer.workflows.processing``).
PROCESS_EVENTS = "workers.jobs.process_events"
FLUSH_TRACKING = "workers.jobs.flush_tracking"
DELIVER_WEBHOOKS = "workers.jobs.deliver_webhooks"
PUSH_CRM_COUNTS = "workers.jobs.push_crm_counts"
SYNC_CRM = "workers.jobs.sync_crm"
DERIVE_TEXT_PART = "workers.jobs.derive_text_part"
READ_MAILBOX_REPLIES = "workers.jobs.read_mailbox_replies"
QUEUE_RECIPIENTS = "workers.jobs.queue_recipients"
COUNT_REPORT = "workers.jobs.count_report"
#: Jobs a worker runs in its own process instead of a forked work horse: database,
#: Redis and SMTP work that stays warm from one job to the next (a CRM importing
#: thousands of records fires an event for each: a horse per event would cost ~0.1 s).
IN_PROCESS = frozenset([SEND_MESSAGES, FLUSH_TRACKING, PROCESS_EVENT, PROCESS_EVENTS])

#: Longest a job may run before RQ stops it, in seconds, by job.
TIMEOUTS = {
    SEND_MESSAGES: 600,
    RENDER_EXPORT_CHUNK: 900,
    PROCESS_EVENT: 600,
    PROCESS_EVENTS: 600,
    DELIVER_WEBHOOKS: 900,
    PUSH_CRM_COUNTS: 600,
    SYNC_CRM: 900,
    READ_MAILBOX_REPLIES: 600,
    #: A million recipients at a few thousand rows a second, with room to spare.
    QUEUE_RECIPIENTS: 3600,
    #: A large campaign's report: a few aggregates over its messages and events.
    COUNT_REPORT: 900,
}


def init_app(app):
    """Create the app's Redis client from ``REDIS_URL``."""
    app.extensions["redis"] = Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=5, health_check_interval=30
    )


def get_redis():
    """Return the current app's Redis client."""
    return current_app.extensions["redis"]


def get_queue(name, connection=None):
    """The queue called ``name`` on the app's Redis (or ``connection``)."""
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection or get_redis())


def all_queues(connection=None, names=QUEUES):
    """The queues called ``names`` (all of them by default), in the order of ``QUEUES``."""
    return [get_queue(name, connection) for name in QUEUES if name in names]


def queue_names(choices):
    """The queue names in ``choices`` (each one name or several, comma-separated), in the
    order of ``QUEUES``; all of them when there are none. ``ValueError`` names the unknown."""
    names = {name.strip() for choice in choices for name in choice.split(",") if name.strip()}
    unknown = sorted(names - set(QUEUES))
    if unknown:
        raise ValueError(f"unknown queue {', '.join(unknown)} (the queues are {', '.join(QUEUES)})")
    return tuple(name for name in QUEUES if name in names) or QUEUES


def enqueue(queue_name, job, *args):
    """Put one ``job`` (a name above) with ``args`` on the queue called ``queue_name``."""
    return get_queue(queue_name).enqueue(job, *args, job_timeout=TIMEOUTS.get(job))


def enqueue_many(queue_name, job, argument_lists):
    """Put one ``job`` per argument list on ``queue_name``, all in one round trip."""
    queue = get_queue(queue_name)
    timeout = TIMEOUTS.get(job)
    return queue.enqueue_many(
        [queue.prepare_data(job, tuple(args), timeout=timeout) for args in argument_lists]
    )


def enqueue_at(queue_name, when, job, *args):
    """Put ``job`` on ``queue_name`` for ``when`` (naive UTC), through RQ's scheduler."""
    return get_queue(queue_name).enqueue_at(
        when.replace(tzinfo=UTC), job, *args, job_timeout=TIMEOUTS.get(job)
    )

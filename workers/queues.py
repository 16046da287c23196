"""The queues, created in one place with an explicit Redis connection.

``emails`` carries batches of message ids, ``pdf`` PDF renders and exports,
``periodic`` the scheduler's housekeeping (lease reaper, retry dispatcher),
``workflows`` the processing of stored events.
"""

from rq import Queue

from designer.broker import get_redis

EMAILS = "emails"
PDF = "pdf"
PERIODIC = "periodic"
WORKFLOWS = "workflows"
#: In the order a worker takes jobs: the short housekeeping jobs first, then the
#: workflows' events, so neither waits behind the batches of a large campaign.
ALL = (PERIODIC, WORKFLOWS, EMAILS, PDF)


def get_queue(name, connection=None):
    """The queue called ``name`` on the app's Redis (or ``connection``)."""
    if name not in ALL:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection or get_redis())


def email_queue():
    return get_queue(EMAILS)


def all_queues(connection=None):
    return [get_queue(name, connection) for name in ALL]

"""The queues a worker listens on: defined with the job names in ``designer.broker``."""

from designer.broker import EMAILS, PDF, PERIODIC, QUEUES, WORKFLOWS, all_queues, get_queue

__all__ = ["EMAILS", "PDF", "PERIODIC", "QUEUES", "WORKFLOWS", "all_queues", "get_queue"]

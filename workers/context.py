"""The app context a job runs in.

The worker process creates the app once and pushes its context before it
starts working; RQ forks a work horse per job, which inherits that context
but must not reuse the parent's database connections.
"""

import os
from contextlib import contextmanager

from flask import current_app, has_app_context

_engine_pid = {"pid": os.getpid()}


@contextmanager
def job_context():
    """Yield inside an app context with connections owned by this process."""
    if has_app_context():
        _fresh_connections_after_fork()
        yield current_app
        return
    from designer import create_app

    app = create_app()
    with app.app_context():
        yield app


def _fresh_connections_after_fork():
    from designer.extensions import db

    if _engine_pid["pid"] != os.getpid():
        db.engine.dispose(close=False)
        _engine_pid["pid"] = os.getpid()

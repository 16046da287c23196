"""The product's WSGI app with one extra path for ``hooks.py``: the raw floor of an intake.

``POST /bench/raw-hook`` does the least a signed event intake must do, with
the raw libraries and nothing of Designer's: read the body, check the
``X-Designer-Signature`` HMAC (the same scheme and secret) in constant time,
parse the JSON and INSERT it with its id into one table (``ON CONFLICT DO
NOTHING``) through psycopg, answering 202 (or 200 for an id seen before).
``/hooks/events`` also refuses replays, upserts the record, stores the event
and queues its job, so the ratio between the two is the cost of all that.
"""

import gc
import hashlib
import hmac
import json
import os
import queue
import sqlite3

import psycopg

from designer import create_app
from designer.extensions import open_pool

RAW = "/bench/raw-hook"
TABLE = "bench_raw_events"
#: Connections a worker opens at most, as many as the product's pool keeps
#: (``DATABASE_POOL_SIZE``): PostgreSQL's 100 are shared by both, and the workers.
RAW_CONNECTIONS = 16


class RawIntake:
    """``POST /bench/raw-hook`` in front of Flask; everything else goes to the app."""

    def __init__(self, wsgi_app, database_url, secret):
        self.wsgi_app = wsgi_app
        self.url = database_url.replace("postgresql+psycopg://", "postgresql://")
        self.sqlite = database_url.startswith("sqlite:///")
        self.secret = secret.encode()
        self.pool = queue.LifoQueue()
        self.opened = 0

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != RAW:
            return self.wsgi_app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        status = self.intake(environ, body)
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]

    def intake(self, environ, body):
        timestamp = environ.get("HTTP_X_DESIGNER_TIMESTAMP", "")
        given = environ.get("HTTP_X_DESIGNER_SIGNATURE", "").removeprefix("sha256=")
        expected = hmac.new(self.secret, f"{timestamp}.".encode() + body, hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), given):
            return "401 Unauthorized"
        event_id = str(json.loads(body)["id"])
        connection = self._connection()
        try:
            mark = "?" if self.sqlite else "%s"
            inserted = connection.execute(
                f"INSERT INTO {TABLE} (event_id, body) VALUES ({mark}, {mark}) "  # noqa: S608
                "ON CONFLICT DO NOTHING",
                (event_id, body.decode()),
            ).rowcount
        finally:
            self.pool.put(connection)
        return "202 Accepted" if inserted else "200 OK"

    def _connection(self):
        try:
            return self.pool.get_nowait()
        except queue.Empty:
            pass
        if self.opened >= RAW_CONNECTIONS:  # as many as the product's pool keeps: wait
            return self.pool.get()
        self.opened += 1
        if self.sqlite:
            path = self.url.removeprefix("sqlite:///").split("?")[0]
            return sqlite3.connect(path, timeout=30, isolation_level=None)
        return psycopg.connect(self.url, autocommit=True)


app = create_app()
app.wsgi_app = RawIntake(
    app.wsgi_app, app.config["SQLALCHEMY_DATABASE_URI"], os.environ["BENCH_HOOK_SECRET"]
)
open_pool(app)  # as designer.wsgi does
gc.collect()
gc.freeze()

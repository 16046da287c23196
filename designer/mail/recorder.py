"""The recorder: the outcome writes of one batch, pipelined on PostgreSQL.

Delivery records each message's outcome before the next message goes on the
wire (the ledger's promise: at most one message per worker sent and not yet
recorded). A plain write and commit per message would leave the worker idle
for a round trip each time; the recorder lets the next message be merged
while the database commits the last outcome, and waits only before SMTP.
"""

import hashlib
import re
from datetime import datetime

from designer.extensions import db


class Recorder:
    """Outcome writes of one batch on a connection of their own, each one statement
    committed on its own (autocommit, synchronous commit: one round trip).

    On PostgreSQL a write goes out without waiting for its answer (libpq's
    asynchronous calls on a prepared statement), so the next message is merged
    while the database commits; ``wait`` blocks until that commit is done, and
    delivery calls it before the next message goes on the wire. Every other
    write, and leaving the ``with`` block, waits for the one before it. So a
    worker never has more than one message sent and not yet recorded, as with
    a plain write and commit per message.
    """

    def __init__(self):
        self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.pgconn = None
        if self.connection.dialect.driver == "psycopg":
            self.pgconn = self.connection.connection.dbapi_connection.pgconn
        self.prepared = {}
        self.pending = False

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        try:
            self.wait()
        except Exception:
            if exc is None:
                raise
        finally:
            self.connection.close()

    def execute(self, statement, params):
        """Write and commit (on PostgreSQL possibly still under way: see ``wait``)."""
        if self.pgconn is None:
            self.connection.execute(statement, params)
            return
        self.wait()
        name, names = self._prepare(statement)
        self.pgconn.send_query_prepared(name, [_pg_text(params[n]) for n in names])
        self.pending = True

    def wait(self):
        """Return once the last write is committed; raise the database's error if it failed."""
        if not self.pending:
            return
        self.pending = False  # pragma: no mutate - with nothing sent, get_result says so
        self._result(lambda: None)

    def _prepare(self, statement):
        found = self.prepared.get(statement)  # pragma: no mutate - prepared again: let pass
        if found is None:
            names = []

            def placeholder(match):
                names.append(match.group(1))
                return f"${len(names)}"

            sql = str(statement.compile(dialect=self.connection.dialect))
            sql = _PYFORMAT.sub(placeholder, sql).replace("%%", "%")
            # Named after its text: the connection (pooled) may have it from a batch before.
            digest = hashlib.blake2b(sql.encode(), digest_size=10).hexdigest()  # pragma: no mutate
            name = f"designer_ledger_{digest}".encode()
            try:
                self._result(lambda: self.pgconn.send_prepare(name, sql.encode()))
            except Exception as exc:
                if getattr(exc, "sqlstate", None) != DUPLICATE_PREPARED_STATEMENT:
                    raise
            found = self.prepared[statement] = (name, names)
        return found

    def _result(self, send):
        from psycopg import errors, pq

        send()
        failed = None
        while (result := self.pgconn.get_result()) is not None:
            if result.status != pq.ExecStatus.COMMAND_OK and failed is None:
                failed = result
        if failed is not None:
            raise errors.error_from_result(failed)


_PYFORMAT = re.compile(r"%\((\w+)\)s")
DUPLICATE_PREPARED_STATEMENT = "42P05"


def _pg_text(value):
    """A parameter in PostgreSQL's text format."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ").encode()
    return str(value).encode()

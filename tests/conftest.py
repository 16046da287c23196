"""Shared fixtures: the app on a real database and Redis, an SMTP server, logged-in clients.

The database is PostgreSQL when ``TEST_DATABASE_URL`` is set, else a SQLite
file; Redis is ``TEST_REDIS_URL`` when set, else the embedded server. The
schema comes from the Alembic migrations, once per run; every test starts
from empty tables and an empty Redis database.
"""

import asyncio
import os
import sys
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from flask import g
from sqlalchemy import create_engine, text
from support import (
    BannerServer,
    ServedProduct,
    bearer_client,
    child_env,
    free_port,
    log_in,
    run_designer,
)

from designer import create_app
from designer.embedded import EmbeddedRedis
from designer.extensions import db
from designer.processes import start_child, stop_child

SECRET = "test-secret-key"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _reset_postgres(url):
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory):
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def base_config(database_url, redis_url, instance_path):
    """Settings every test app shares; ``env`` spells them for child processes."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET,
        "INSTANCE_PATH": str(instance_path),
        "PUBLIC_URL": "http://designer.test",
        "SMTP_URL": "smtp://127.0.0.1:9",
        # The tests' SMTP and IMAP servers listen on loopback (refusals: test_netguard.py).
        "ALLOWED_MAIL_HOSTS": "127.0.0.1",
    }


@pytest.fixture(scope="session")
def migrated(base_config):
    """Apply the Alembic migrations once per run (proves they work on this database)."""
    from flask_migrate import upgrade

    app = create_app(base_config)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return True


def _fresh_request_globals():
    """Tests keep one app context open, which requests then share; start each with an
    empty ``g`` as in production, so the logged-in user and CSRF token are per client."""
    g.__dict__.clear()


@pytest.fixture
def app(base_config, migrated):
    app = create_app(dict(base_config))
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()
    app.extensions["redis"].flushdb()


def _empty_tables():
    """Delete every row and start the ids again from 1. A test leaves a few rows in a few
    tables: deleting them costs less than TRUNCATE, which rewrites every table's files.
    On PostgreSQL the foreign keys' triggers are off meanwhile (the test user is a
    superuser; otherwise TRUNCATE it is)."""
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name != "postgresql":
            for table in tables:
                conn.execute(table.delete())
            return
        superuser = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        if not superuser.scalar():
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in tables:
            conn.execute(table.delete())
        conn.execute(text(RESTART_SEQUENCES))


#: Every sequence of the schema that has given out an id starts again from 1.
RESTART_SEQUENCES = """
SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)
FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL
"""


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_with(app, base_config):
    """``app_with(PUBLIC_URL=…)``: another app on the test database and Redis, other settings."""
    made = []

    def make(**settings):
        other = create_app({**base_config, **settings})
        other.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def served_behind_proxy(tmp_path_factory):
    """``designer serve`` (real gunicorn) trusting 127.0.0.1 as its proxy; its instance folder
    starts with files an earlier version or ``make run`` left readable to everyone."""
    instance = tmp_path_factory.mktemp("served")
    instance.chmod(0o755)
    for name in ("designer.db", ".demo-loaded"):
        (instance / name).touch()
        (instance / name).chmod(0o644)
    served = ServedProduct(instance)
    served.env["TRUSTED_PROXIES"] = "127.0.0.1"
    served.start()
    yield served
    served.stop()


_DEMO = {}


#: The demo users' password hashes are scrypt with a smaller work factor than a real
#: user's (werkzeug's n=2**15): each test that logs in checks one.
DEMO_HASH = "scrypt:1024:8:1"


@pytest.fixture
def demo(app, monkeypatch):
    """The demo data set. Built once per run (its templates take seconds to compile);
    later tests get the same rows copied back into their empty tables."""
    from designer.demo import load_demo
    from designer.records import models

    empty = not _table_rows(only_count=True)
    if _DEMO and empty:
        _restore_rows(_DEMO["rows"])
        return dict(_DEMO["counts"])
    if empty:
        real = models.generate_password_hash
        monkeypatch.setattr(
            models, "generate_password_hash", lambda password, **_: real(password, DEMO_HASH)
        )
    counts = load_demo()
    if empty:
        _DEMO.update(counts=dict(counts), rows=_table_rows())
    return counts


def _table_rows(only_count=False):
    """Every row of every table, parents first (or, with ``only_count``, how many)."""
    db.session.commit()
    with db.engine.connect() as conn:
        if only_count:
            return sum(
                conn.execute(db.select(db.func.count()).select_from(t)).scalar_one()
                for t in db.metadata.sorted_tables
            )
        return [
            (t, [row._asdict() for row in conn.execute(t.select().order_by(*t.primary_key))])
            for t in db.metadata.sorted_tables
        ]


def _restore_rows(tables):
    with db.engine.begin() as conn:
        for table, rows in tables:
            if rows:
                conn.execute(table.insert(), rows)
        if conn.dialect.name == "postgresql":
            for table, rows in tables:
                _advance_sequence(conn, table, rows)


def _advance_sequence(conn, table, rows):
    """After rows copied in with their ids, the next id follows the highest one."""
    columns = [c for c in table.primary_key if c.autoincrement is True or c.identity]
    serial = [c for c in table.primary_key if isinstance(c.type, db.Integer)]
    for column in columns or serial[:1]:
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
        ).scalar()
        if sequence and rows:
            top = max(row[column.name] for row in rows)
            conn.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": top})


@pytest.fixture
def admin_client(client, demo):
    return log_in(client)


@pytest.fixture
def marketer_client(app, demo):
    return log_in(app.test_client(), "marketer@example.com")


class RecordingHandler:
    """A real SMTP server's handler that keeps every message it accepts."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        self.answers = []  # queued SMTP answers to DATA, e.g. "451 4.3.0 try later"
        self.delay = 0.0  # seconds each DATA takes (a slow server)

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            answer = self.answers.pop(0) if self.answers else None
            if answer == "DROP":  # read the whole message, then hang up without answering
                server.transport.abort()
                return "250 2.0.0 never sent"
            if answer:
                return answer
            self.received.append(envelope)
        return "250 2.0.0 OK queued"

    def messages(self):
        with self.lock:
            return [
                message_from_bytes(e.original_content, policy=policy.default) for e in self.received
            ]


@pytest.fixture
def smtp_server():
    """An aiosmtpd server on loopback; ``.url`` for SMTP_URL, ``.handler`` for what it got."""
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.url = f"smtp://127.0.0.1:{controller.port}"
    yield controller
    controller.stop()


@pytest.fixture
def banner_server():
    """Start ``support.BannerServer``s: ``banner_server(b"SSH-2.0-…")``; closed after."""
    started = []

    def start(banner=b"", answer=None):
        started.append(BannerServer(banner, answer))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def smtp_app(app, smtp_server):
    """The app sending to the loopback SMTP server."""
    app.config["SMTP_URL"] = smtp_server.url
    return app


@pytest.fixture
def run_worker_burst(app):
    """Run a real RQ worker process in burst mode until the queues are empty."""

    def run():
        db.session.commit()
        result = run_designer(app, "worker", "--burst")
        assert result.returncode == 0, result.stderr[-3000:]
        db.session.expire_all()
        return result

    return run


@pytest.fixture
def people(app):
    """A small cast: an English admin, a Dutch organisation with a Dutch and an English contact."""
    from types import SimpleNamespace

    from designer.records import Contact, Organisation, User

    admin = User(name="Ada Admin", email="ada@example.com", role="admin", language="en")
    admin.set_password("secret")
    org = Organisation(
        name="Bakkerij De Vries",
        email="info@devries.example",
        language="nl",
        industry="Retail",
        city="Utrecht",
        owner=admin,
    )
    jan = Contact(
        first_name="Jan",
        last_name="de Vries",
        email="jan@devries.example",
        language="nl",
        organisation=org,
    )
    emma = Contact(
        first_name="Emma",
        last_name="Smith",
        email="emma@devries.example",
        language="en",
        organisation=org,
    )
    db.session.add_all([admin, org, jan, emma])
    db.session.commit()
    return SimpleNamespace(admin=admin, org=org, jan=jan, emma=emma)


WELCOME_MJML = """<mjml>
  <mj-head><mj-title>Welcome {{ contact.first_name }}</mj-title></mj-head>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Hello {{ contact.first_name | default("there") }}
          of {{ organisation.name }},</mj-text>
        <mj-text>Regards, {{ sender.name }}</mj-text>
        <mj-button href="https://example.com/start">Start</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""


@pytest.fixture
def welcome(app, people):
    """A saved MJML template with merge fields."""
    from designer.templating import create_template

    return create_template(
        "Welcome", WELCOME_MJML, subject="Welcome, {{ contact.first_name }}!", user=people.admin
    )


def _token_for(email):
    from designer.auth.tokens import create_token
    from designer.records import User

    user = db.session.scalar(db.select(User).where(User.email == email))
    return create_token(user, "tests")[1]


@pytest.fixture
def admin_token(demo):
    """An API token of the demo admin."""
    return _token_for("admin@example.com")


@pytest.fixture
def marketer_token(demo):
    """An API token of the demo marketer."""
    return _token_for("marketer@example.com")


@pytest.fixture
def admin_api(app, admin_token):
    """A client sending the demo admin's API token (and no cookie) with every request."""
    return bearer_client(app, admin_token)


@pytest.fixture
def marketer_api(app, marketer_token):
    """A client sending the demo marketer's API token with every request."""
    return bearer_client(app, marketer_token)


@pytest.fixture
def designer_process(app, tmp_path):
    """``designer_process("scheduler", env={...})``: a real ``designer`` command running in the
    background against the test app's database and Redis (its output in ``process.log``);
    every one is stopped after the test, killed if it does not stop."""
    started = []

    def start(*args, env=None):
        log = tmp_path / f"{args[0]}-{len(started)}.log"
        with open(log, "w") as handle:
            process = start_child(
                [sys.executable, "-m", "designer", *args],
                env={**child_env(app), "PYTHONUNBUFFERED": "1", **(env or {})},
                stdout=handle,
                stderr=handle,
            )
        process.log = log
        started.append(process)
        return process

    yield start
    for process in started:
        stop_child(process, timeout=15)

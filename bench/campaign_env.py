"""A throw-away installation for the sending benches (``send.py``, ``chaos.py``).

A fresh PostgreSQL database (``designer_bench_<pid>``, dropped at the end) or
a SQLite file, Redis database 15 (flushed at the start and the end), an
instance folder in /tmp, the schema applied by the real ``designer db
upgrade``, a synthetic organisation list with N contacts, the ~35 KB MJML
newsletter of ``render.py``, an audience of everyone and a draft campaign.
Worker processes are real ``python -m designer worker`` children. Everything
started here is stopped by ``close()``, whatever happened (SIGTERM included),
and the databases of earlier runs that died are dropped.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, suppress
from pathlib import Path

from designer.processes import descendants

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from designer.processes import start_child, stop_child  # noqa: E402

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/15"
DATABASE_PREFIX = "designer_bench_"
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
FIRST = ("Jan", "Emma", "Lucas", "Sophie", "Daan", "Julia", "Sem", "Tess", "Noah", "Anna")
LAST = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "de Boer")
CITIES = ("Utrecht", "Amsterdam", "Rotterdam", "Den Haag", "Eindhoven", "Groningen")
INDUSTRIES = ("Retail", "Hospitality", "Construction", "Software", "Healthcare")
CONTACTS_PER_ORG = 10


def add_arguments(parser):
    """The options every sending bench takes: where its database and Redis are."""
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument(
        "--postgres-url",
        default=PG_ADMIN_URL,
        help="a PostgreSQL server database to create the bench database from "
        f"(default {PG_ADMIN_URL})",
    )
    parser.add_argument(
        "--redis-url",
        default=REDIS_URL,
        help=f"a Redis database, emptied at the start and the end (default {REDIS_URL})",
    )


def env_options(args):
    return {"sqlite": args.sqlite, "postgres_url": args.postgres_url, "redis_url": args.redis_url}


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answers on 127.0.0.1:{port}")


def newsletter_source():
    """The MJML newsletter of ``bench/render.py`` (10 sections, 15+ merge fields)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from render import SECTION, TEMPLATE

    return TEMPLATE.replace("__SECTIONS__", "".join(SECTION.format(i=i) for i in range(1, 11)))


class BenchEnv:
    """Database, Redis, instance folder and the app context the bench talks through."""

    def __init__(
        self,
        *,
        sqlite=False,
        smtp_url="smtp://127.0.0.1:9",
        settings=None,
        postgres_url=PG_ADMIN_URL,
        redis_url=REDIS_URL,
    ):
        self.stack = ExitStack()
        self.children = []
        self.pg_admin_url, self.redis_url = postgres_url, redis_url
        self.instance = Path(tempfile.mkdtemp(prefix="designer-bench-"))
        self.stack.callback(shutil.rmtree, self.instance, ignore_errors=True)
        if sqlite:
            database_url = f"sqlite:///{self.instance / 'bench.db'}"
        else:
            database_url = self._create_postgres_database()
        self.settings = {name: str(value) for name, value in (settings or {}).items()}
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            SECRET_KEY=secrets.token_hex(16),
            PUBLIC_URL="https://designer.example",
            SMTP_URL=smtp_url,
            DESIGNER_INSTANCE_PATH=str(self.instance),
            PYTHONUNBUFFERED="1",
            **self.settings,
        )
        self.database = "PostgreSQL" if not sqlite else "SQLite"
        signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that close() runs
        self._flush_redis()
        self.stack.callback(self._flush_redis, at_close=True)
        self.app = None

    # -- lifetime ---------------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for child in self.children:
            with suppress(Exception):
                stop_child(child, timeout=10)
        self.children = []
        for pid in descendants(os.getpid()):  # anything they left behind (work horses)
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.app is not None:
            with suppress(Exception):
                from designer.extensions import db

                db.session.remove()
                db.engine.dispose()
        self.stack.close()

    def _create_postgres_database(self):
        import psycopg

        name = f"{DATABASE_PREFIX}{os.getpid()}"
        with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
            existing = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (DATABASE_PREFIX + "%",)
            ).fetchall()
            for (old,) in existing:  # this run's name, or a run that died
                pid = old.removeprefix(DATABASE_PREFIX)
                if old == name or (pid.isdigit() and not os.path.exists(f"/proc/{pid}")):
                    conn.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.stack.callback(self._drop_postgres_database, name)
        return self.pg_admin_url.rsplit("/", 1)[0] + "/" + name

    def _drop_postgres_database(self, name):
        import psycopg

        with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _flush_redis(self, at_close=False):
        import redis

        try:
            redis.Redis.from_url(self.redis_url).flushdb()
        except redis.ConnectionError:
            if not at_close:  # a private server of the bench's, stopped with its children
                raise

    # -- the product ------------------------------------------------------------

    def designer(self, *args, timeout=300):
        """Run the real CLI against this installation; raise with its stderr on failure."""
        result = subprocess.run(
            [sys.executable, "-m", "designer", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"designer {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def open_app(self):
        """Migrate with the real CLI, then create the app here and push its context."""
        self.designer("db", "upgrade")
        for name in (
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "PUBLIC_URL",
            "SMTP_URL",
            "DESIGNER_INSTANCE_PATH",
            *self.settings,
        ):
            os.environ[name] = self.env[name]
        from designer import create_app

        self.app = create_app()
        context = self.app.app_context()
        context.push()
        self.stack.callback(context.pop)
        return self.app

    def start_process(self, argv, log_name):
        """A child bound to our life, its output in the instance folder."""
        log = open(self.instance / log_name, "ab")  # noqa: SIM115 - closed by the stack
        self.stack.callback(log.close)
        child = start_child(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.children.append(child)
        return child

    def start_worker(self, index, *args):
        return self.start_process(
            [sys.executable, "-m", "designer", "worker", "--log-level", "WARNING", *args],
            f"worker-{index}.log",
        )

    def start_scheduler(self):
        return self.start_process(
            [sys.executable, "-m", "designer", "scheduler", "--log-level", "WARNING"],
            "scheduler.log",
        )

    def start_web(self, app_module, port, probe):
        """The product's web server as ``designer serve`` runs it (gunicorn, its worker
        class and counts) serving ``app_module`` (a module of ``bench/``); returns when
        ``probe`` (a path) answers. ``(child, description)``."""
        from designer.serve import WEB_WORKER_CLASS, WEB_WORKERS, web_options

        argv = [sys.executable, "-m", "gunicorn", app_module, "--pythonpath", str(ROOT / "bench")]
        argv += web_options("127.0.0.1", port)
        child = self.start_process([*argv, "--log-level", "warning"], "gunicorn.log")
        wait_for_port(port, timeout=30)
        deadline = time.monotonic() + 60
        while True:  # the workers build the app after binding: wait until one answers
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # an answer all the same (e.g. /healthz's 503 while a worker registers)
            except OSError:
                if time.monotonic() > deadline or child.poll() is not None:
                    raise RuntimeError(f"gunicorn did not answer\n{self.logs()}") from None
                time.sleep(0.2)
        time.sleep(2)  # and the other workers
        return child, f"{WEB_WORKERS} {WEB_WORKER_CLASS} workers"

    def wait_for_workers(self, count, timeout=60):
        from rq import Worker

        from designer.broker import get_redis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(Worker.all(connection=get_redis())) >= count:
                return
            for child in self.children:
                if child.poll() is not None:
                    raise RuntimeError(f"a child exited early: {child.args}\n{self.logs()}")
            time.sleep(0.05)
        raise RuntimeError(f"{count} workers did not register in {timeout} s\n{self.logs()}")

    def logs(self, tail=2000):
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}"
            for path in sorted(self.instance.glob("*.log"))
        )

    def start_smtp_sink(self):
        """Postfix's ``smtp-sink`` on a free loopback port; returns the port."""
        port = free_port()
        user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it will not run as root
        self.start_process([SMTP_SINK, *user, f"127.0.0.1:{port}", "1000"], "smtp-sink.log")
        wait_for_port(port)
        return port

    # -- data -------------------------------------------------------------------

    def populate(self, n):
        """N contacts in N/10 organisations, the newsletter, everyone as the audience, a
        draft campaign; return the campaign."""
        from sqlalchemy import insert

        from designer import campaigns, settings
        from designer.extensions import db
        from designer.records.models import Contact, Organisation, User
        from designer.templating import create_template

        sender = User(
            name="Mark Marketer",
            email="mark@northwind.example",
            role="marketer",
            title="Marketing",
            phone="+31 20 555 0101",
            language="nl",
        )
        db.session.add(sender)
        db.session.commit()
        settings.set_company(
            {
                "name": "Northwind Relations BV",
                "phone": "+31 20 555 0100",
                "address": "Keizersgracht 123, Amsterdam",
                "website": "https://northwind.example",
            }
        )
        orgs = [
            {
                "name": f"Bakkerij {i:05d}",
                "industry": INDUSTRIES[i % len(INDUSTRIES)],
                "city": CITIES[i % len(CITIES)],
                "street": f"Oudegracht {i}",
                "postal_code": "3511 AB",
                "country": "Netherlands",
                "language": "nl" if i % 3 else "en",
                "owner_id": sender.id,
                "custom": {},
            }
            for i in range(max(1, -(-n // CONTACTS_PER_ORG)))
        ]
        org_ids = list(
            db.session.scalars(
                insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True), orgs
            )
        )
        contacts = [
            {
                "organisation_id": org_ids[i // CONTACTS_PER_ORG],
                "salutation": "Mr",
                "first_name": f"{FIRST[i % len(FIRST)]}",
                "last_name": LAST[i % len(LAST)],
                "email": f"c{i + 1:05d}@bench.example",
                "title": "Owner",
                "language": "",
                "custom": {},
                "tags": "",
            }
            for i in range(n)
        ]
        for start in range(0, n, 5000):
            db.session.execute(insert(Contact), contacts[start : start + 5000])
        db.session.commit()
        template = create_template(
            "Bench newsletter",
            newsletter_source(),
            subject="{{ contact.first_name }}, the {{ company.name }} news",
            user=sender,
        )
        segment = campaigns.create_segment("Everyone", [])
        return campaigns.create_campaign("Bench", template=template, segment=segment, sender=sender)

    def campaign_state(self, campaign_id):
        from designer.campaigns.models import Campaign
        from designer.extensions import db

        state = db.session.scalar(db.select(Campaign.state).where(Campaign.id == campaign_id))
        db.session.rollback()
        return state

    def counts(self, campaign_id):
        """``{state: count}`` of the campaign's ledger rows."""
        from designer.extensions import db
        from designer.mail.models import Message

        rows = db.session.execute(
            db.select(Message.state, db.func.count(Message.id))
            .where(Message.campaign_id == campaign_id)
            .group_by(Message.state)
        ).all()
        db.session.rollback()
        return dict(rows)


def cpu_seconds(parts):
    """CPU seconds used so far (children reaped included) by the processes of each part:
    ``parts`` maps a name to a predicate on (process name, command line)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(parts, 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                stat = handle.read()
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        for part, matches in parts.items():
            if matches(name, command):
                used[part] += sum(int(x) for x in fields[11:15]) / tick
                break
    return used

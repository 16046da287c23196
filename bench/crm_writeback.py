"""Write-back bench: 10,000 contacts' counts written to a real vtiger, against a raw revise loop.

Runs alone (``main``) or as a phase of the sync bench (``writeback_phase``, given
an app whose contacts and organisations came from the bench vtiger). Alone it
needs the separate bench vtiger on port 8081::

    VTIGER_PORT=8081 VTIGER_HOME=/tmp/vt-bench VTIGER_DB=vtiger_bench \\
        bash /work/shared/vtiger/setup.sh
    .venv/bin/python bench/crm_writeback.py [--contacts 10000]

It makes the count fields in that vtiger (``tests/crm/vtiger_fields.php``), creates
the contacts it lacks there (once; they stay for the next run), a throw-away
PostgreSQL database with one sent and opened message per contact, then times
``writeback.push_due`` writing every contact's four fields, and the raw client
revising the same fields on a sample of the same records (the floor: one
webservice call per record is what vtiger offers). Prints one RESULT line.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from designer import create_app  # noqa: E402
from designer.clock import utcnow  # noqa: E402
from designer.crm.client import VtigerClient  # noqa: E402
from designer.extensions import db  # noqa: E402

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"
FIELDS = {
    "opens": ("cf_designer_opens", "integer"),
    "human_opens": ("cf_designer_human_opens", "integer"),
    "last_opened": ("cf_designer_last_opened", "date"),
    "last_sent": ("cf_designer_last_sent", "date"),
}
RAW_SAMPLE = 500
#: Where the bench vtiger lives (its setup.sh's VTIGER_HOME).
VTIGER_HOME = "/tmp/vt-bench"  # noqa: S108
SETUP = "/work/shared/vtiger/setup.sh"


def bench_vtiger():
    """``(url, user, key)`` of the bench vtiger (started by its setup.sh, idempotent)."""
    env = {**os.environ, "VTIGER_PORT": "8081", "VTIGER_HOME": VTIGER_HOME}
    env["VTIGER_DB"] = "vtiger_bench"
    out = subprocess.run([shutil.which("bash"), SETUP], env=env, capture_output=True, text=True)
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    values = dict(item.split("=", 1) for item in line.split() if "=" in item)
    if out.returncode or "VTIGER_URL" not in values:
        sys.exit(f"bench vtiger not running: {out.stderr[-500:]}")
    subprocess.run(
        [shutil.which("php"), str(ROOT / "tests/crm/vtiger_fields.php"), f"{VTIGER_HOME}/www"],
        check=True,
        capture_output=True,
    )
    return values["VTIGER_URL"], values["VTIGER_USER"], values["VTIGER_ACCESS_KEY"]


def ensure_contacts(account, count):
    """Ids of ``count`` contacts in vtiger, creating the missing ones (4 at a time)."""
    with VtigerClient(*account) as client:
        ids = [row["id"] for row in client.query_all("SELECT id FROM Contacts")]
        user_id = client.user_id
    missing = count - len(ids)
    if missing > 0:
        print(f"creating {missing} contacts in the bench vtiger (once) …", flush=True)

        # vtiger keeps one login challenge per user: log the four sessions in one by one
        clients = [VtigerClient(*account) for _ in range(4)]
        for client in clients:
            client.login()

        def make(job):
            client, numbers = job
            with client:
                return [
                    client.create(
                        "Contacts",
                        {
                            "lastname": f"Bench {n}",
                            "email": f"bench{n}@example.com",
                            "assigned_user_id": user_id,
                        },
                    )["id"]
                    for n in numbers
                ]

        numbers = list(range(len(ids), count))
        jobs = [(client, numbers[i::4]) for i, client in enumerate(clients)]
        with ThreadPoolExecutor(4) as pool:
            for made in pool.map(make, jobs):
                ids.extend(made)
    return ids[:count]


def fill_designer(external_ids):
    """One contact per vtiger id and one sent, opened message to each (bulk inserts)."""
    from designer.mail.models import Message
    from designer.records.models import Contact, User
    from designer.templating import create_template

    admin = User(name="Bench", email="bench@example.com", role="admin")
    db.session.add(admin)
    db.session.commit()
    from designer.templating.models import TemplateVersion

    template = create_template("Bench", "<p>Hi</p>", source_type="html", user=admin)
    version_id = db.session.scalar(
        db.select(TemplateVersion.id).where(TemplateVersion.template_id == template.id)
    )
    db.session.execute(
        insert(Contact),
        [
            {"external_id": e, "last_name": f"Bench {i}", "email": f"b{i}@example.com"}
            for i, e in enumerate(external_ids)
        ],
    )
    contact_ids = [c for (c,) in db.session.execute(db.select(Contact.id).order_by(Contact.id))]
    now = utcnow()
    db.session.execute(
        insert(Message),
        [
            {
                "template_version_id": version_id,
                "contact_id": contact_id,
                "recipient_email": f"b{i}@example.com",
                "state": "sent",
                "token": f"bench{i:010d}",
                "sent_at": now - timedelta(hours=2),
                "open_count": random.randint(1, 9),
                "human_open_count": 1,
                "last_opened_at": now - timedelta(minutes=random.randint(1, 90)),
            }
            for i, contact_id in enumerate(contact_ids)
        ],
    )
    db.session.commit()


def choose_fields():
    from designer.crm.writeback_fields import SETTING
    from designer.settings import set_setting

    chosen = {count: {"field": f, "type": t} for count, (f, t) in FIELDS.items()}
    set_setting(SETTING, {"fields": {"organisation": chosen, "contact": chosen}})


def writeback_phase(app, account):
    """Time the write-back of every due contact and organisation of ``app`` to ``account``'s
    vtiger; ``{"writeback_records", "writeback_s", "writeback_per_s", "failed"}``."""
    from designer.crm import writeback

    with app.app_context():
        choose_fields()
        with VtigerClient(*account) as client:
            started = time.perf_counter()
            result = writeback.push_due(client)
            seconds = time.perf_counter() - started
    return {
        "writeback_records": result.pushed,
        "writeback_s": round(seconds, 1),
        "writeback_per_s": round(result.pushed / seconds, 1) if seconds else 0.0,
        "failed": result.failed,
    }


def raw_revise_rate(account, external_ids):
    """Revises per second of the bare client writing the same four fields (the floor)."""
    sample = external_ids[:RAW_SAMPLE]
    with VtigerClient(*account) as client:
        client.login()
        started = time.perf_counter()
        for n, external_id in enumerate(sample):
            client.revise(
                {
                    "id": external_id,
                    "cf_designer_opens": str(n % 7),
                    "cf_designer_human_opens": "1",
                    "cf_designer_last_opened": "2026-12-01",
                    "cf_designer_last_sent": "2026-12-01",
                }
            )
        return len(sample) / (time.perf_counter() - started)


def measure(account, contacts):
    """Write back ``contacts`` counters from a fresh Designer database; ``(phase, raw)``."""
    external_ids = ensure_contacts(account, contacts)
    name = f"designer_bench_crm_writeback_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    app = create_app(
        {
            "DATABASE_URL": PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": tempfile.mkdtemp(prefix=name),
        }
    )
    try:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            fill_designer(external_ids)
        phase = writeback_phase(app, account)
        raw = raw_revise_rate(account, external_ids)
    finally:
        with app.app_context():
            db.engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    return phase, raw


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    args = parser.parse_args()
    phase, raw = measure(bench_vtiger(), args.contacts)
    ratio = phase["writeback_per_s"] / raw if raw else 0.0
    print(f"load: {'/'.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(
        f"RESULT writeback_records={phase['writeback_records']} "
        f"writeback_s={phase['writeback_s']} writeback_per_s={phase['writeback_per_s']} "
        f"failed={phase['failed']} raw_revise_per_s={raw:.1f} ratio={ratio:.2f}"
    )


if __name__ == "__main__":
    main()

"""Million-recipient scale: the audience count, a campaign's start, a hit flush and the
pages, at 1,000,000 contacts.

A throw-away installation (``campaign_env.BenchEnv``: its own PostgreSQL
database, Redis database, instance folder) is bulk-loaded with contacts
(``COPY`` on PostgreSQL, every column the models define, not the demo
loader). Then, in order:

1. ``--small`` contacts loaded: a campaign to all of them is started in a
   child process as a large audience is, whatever its size: ``campaigns.start()``
   moves it to sending and queues its job, then an RQ worker in the same process
   runs that job from the ``periodic`` queue (the ledger written and queued, no
   worker sending) — its rows per second, from the start to the job's end;
2. the rest loaded, ``--contacts`` in all: the live count of an audience
   (everyone, and one filter), as the audience builder asks for it;
3. a campaign to every contact started the same way: rows per second and the
   child's peak resident memory (``ru_maxrss``) — ``scaling`` is this rate
   over the small one's (1.0: the cost of a row does not grow with the ledger);
4. ``--hits`` opens buffered in Redis as the pixel route leaves them, then
   ``tracking.flush()`` until the buffer is empty: hits per second;
5. one contact given ``--history`` more messages and the Outbox ``--outbox``
   caught messages; the database vacuumed and analysed, as autovacuum does after
   so many writes; the large campaign's report counted as its worker counts it
   (``report_count_ms``); then, as a logged-in administrator, the campaign report,
   the organisation and contact pages of that contact, the campaign page,
   its recipients in the API and the Outbox, each timed (the median of three,
   after one to warm up). Every query those pages ran that reads messages or
   tracking events is ``EXPLAIN``ed: ``seq_scans`` counts the plans with a
   sequential scan of either table (PostgreSQL).

    python bench/scale.py [--contacts 1000000] [--small N] [--history 10000]
                          [--hits N] [--outbox 10000] [--sqlite]

Last line: ``RESULT contacts=<n> count_ms=<n> start_rows_per_s=<n>
start_peak_rss_mb=<n> flush_hits_per_s=<n> report_ms=<n> report_count_ms=<n> org_page_ms=<n>
contact_page_ms=<n> outbox_ms=<n> seq_scans=<n> scaling=<r>``.
"""

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from datetime import timedelta

from campaign_env import (
    CITIES,
    CONTACTS_PER_ORG,
    FIRST,
    INDUSTRIES,
    LAST,
    ROOT,
    BenchEnv,
    add_arguments,
    env_options,
)

PASSWORD = secrets.token_urlsafe(16)
#: Rows per bulk-load statement (SQLite) or per COPY flush.
LOAD_CHUNK = 20_000
#: Tables whose sequential scan on a page is a finding.
WATCHED = ("messages", "tracking_events")
HUMAN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"

#: Run in a child, so that its peak memory is the start's and its job's own. The job runs
#: in this process (``SimpleWorker``), on the periodic queue only: nothing is sent.
START_CHILD = """
import json, resource, sys, time
def peak_mb():
    # This process's own peak resident memory: VmHWM of its address space. ru_maxrss keeps
    # the high-water mark of the process it was forked from across exec: the bench's own
    # memory, with every contact it loaded.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from rq import SimpleWorker
from designer import broker, create_app, campaigns
from designer.campaigns.models import Campaign
from designer.extensions import db
app = create_app()
app.config["START_INLINE_RECIPIENTS"] = 0  # the job path, however small the audience
with app.app_context():
    campaign = db.session.get(Campaign, int(sys.argv[1]))
    worker = SimpleWorker([broker.get_queue(broker.PERIODIC)], connection=broker.get_redis())
    before = peak_mb()
    started = time.perf_counter()
    campaigns.start(campaign)
    worker.work(burst=True, logging_level="WARNING", with_scheduler=False)
    seconds = time.perf_counter() - started
    peak = peak_mb()
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign.id)
    if campaign.queued_at is None:
        sys.exit("the start's job did not write the ledger")
    rows = campaigns.progress(campaign)["queued"]
    print(json.dumps({"rows": rows, "seconds": seconds, "rss_before_mb": before,
                      "peak_rss_mb": peak}))
"""


# -- loading -----------------------------------------------------------------


def column_defaults(model):
    """Every column of ``model`` but its id, with the value the model gives it by default."""
    values = {}
    for column in model.__table__.columns:
        if column.primary_key:
            continue
        default = column.default.arg if column.default is not None else None
        if callable(default):
            default = default(None) if _takes_context(default) else default()
        values[column.name] = default
    return values


def _takes_context(function):
    return getattr(function, "__code__", None) is not None and function.__code__.co_argcount == 1


def bulk_insert(model, rows, postgres):
    """Insert ``rows`` (complete dicts) into ``model``'s table: COPY on PostgreSQL."""
    from designer.extensions import db

    if not postgres:
        for start in range(0, len(rows), LOAD_CHUNK):
            db.session.execute(db.insert(model), rows[start : start + LOAD_CHUNK])
        db.session.commit()
        return
    names = list(rows[0])
    table = model.__table__.name
    connection = db.session.connection().connection.dbapi_connection
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([_copyable(row[name]) for name in names])
    db.session.commit()


def _copyable(value):
    return json.dumps(value) if isinstance(value, dict | list) else value


def load_contacts(count, offset, owner_id, postgres):
    """``count`` more contacts, ten to an organisation, numbered from ``offset``."""
    from designer.extensions import db
    from designer.records.models import Contact, Organisation

    org_base = column_defaults(Organisation)
    first_org = offset // CONTACTS_PER_ORG
    orgs = [
        {
            **org_base,
            "name": f"Bakkerij {i:07d}",
            "industry": INDUSTRIES[i % len(INDUSTRIES)],
            "city": CITIES[i % len(CITIES)],
            "country": "Netherlands",
            "language": "nl" if i % 3 else "en",
            "owner_id": owner_id,
        }
        for i in range(first_org, first_org + -(-count // CONTACTS_PER_ORG))
    ]
    bulk_insert(Organisation, orgs, postgres)
    org_ids = db.session.scalars(
        db.select(Organisation.id).order_by(Organisation.id.desc()).limit(len(orgs))
    ).all()[::-1]
    base = column_defaults(Contact)
    contacts = [
        {
            **base,
            "organisation_id": org_ids[i // CONTACTS_PER_ORG],
            "first_name": FIRST[(offset + i) % len(FIRST)],
            "last_name": LAST[(offset + i) % len(LAST)],
            "email": f"c{offset + i + 1:07d}@bench.example",
            "language": "nl" if (offset + i) % 3 else "en",
        }
        for i in range(count)
    ]
    bulk_insert(Contact, contacts, postgres)
    if postgres:
        db.session.execute(db.text("ANALYZE organisations"))
        db.session.execute(db.text("ANALYZE contacts"))
        db.session.commit()


def load_history(contact, template_version_id, count, postgres):
    """``count`` sent messages to ``contact`` outside any campaign (its history)."""
    from designer.clock import utcnow
    from designer.mail.models import Message

    base = column_defaults(Message)
    now = utcnow()
    rows = [
        {
            **base,
            "template_version_id": template_version_id,
            "contact_id": contact.id,
            "organisation_id": contact.organisation_id,
            "recipient_email": contact.email,
            "subject": f"Letter {n}",
            "state": "sent",
            "sent_at": now - timedelta(minutes=n),
            "created_at": now - timedelta(minutes=n),
            "token": f"history-{n}",
            "dedupe_key": None,
        }
        for n in range(count)
    ]
    bulk_insert(Message, rows, postgres)


def load_outbox(count, postgres):
    from designer.mail.models import OutboxMessage

    base = column_defaults(OutboxMessage)
    raw = b"From: a@bench.example\r\nTo: b@bench.example\r\nSubject: Caught\r\n\r\nHello\r\n"
    rows = [
        {
            **base,
            "mail_from": "a@bench.example",
            "rcpt_to": f"c{n}@bench.example",
            "subject": f"Caught {n}",
            "from_header": "a@bench.example",
            "raw": raw,
        }
        for n in range(count)
    ]
    bulk_insert(OutboxMessage, rows, postgres)


# -- measuring ---------------------------------------------------------------


def start_in_child(env, campaign_id):
    """The start of the campaign, and its job, in a fresh process: rows, seconds, memory."""
    result = subprocess.run(
        [sys.executable, "-c", START_CHILD, str(campaign_id)],
        env=env.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"start() failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def new_campaign(name, template, owner, filters=()):
    from designer import campaigns

    segment = campaigns.create_segment(name, list(filters))
    return campaigns.create_campaign(name, template=template, segment=segment, sender=owner)


def time_count(filters):
    from designer.campaigns.audience import audience_count

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        audience_count(filters, "contact")
        timings.append(time.perf_counter() - started)
    return min(timings) * 1000


def buffer_hits(campaign_id, hits):
    """``hits`` opens of the campaign's messages in the hit buffer, as the pixel leaves them."""
    from designer.broker import get_redis
    from designer.extensions import db
    from designer.mail.models import Message
    from designer.tracking import buffer

    redis = get_redis()
    tokens = db.session.scalars(
        db.select(Message.token).where(Message.campaign_id == campaign_id).limit(hits)
    ).all()
    db.session.rollback()
    pushed, now = 0, time.time()
    while pushed < hits:
        pipe = redis.pipeline(transaction=False)
        for token in tokens[: hits - pushed]:
            record = [secrets.token_hex(8), "open", token, None, now, "GET", "203.0.113.9", HUMAN]
            pipe.rpush(buffer.PENDING, json.dumps(record, separators=(",", ":")))
            pushed += 1
            if pushed % 10_000 == 0:
                pipe.execute()
                pipe = redis.pipeline(transaction=False)
        pipe.execute()
    return pushed


def time_flush():
    from designer.tracking import buffer

    counted, started = 0, time.perf_counter()
    while buffer.pending():
        counted += buffer.flush(wait=5)
    return counted, time.perf_counter() - started


class QueryLog:
    """The SQL statements the app runs while ``on``, to EXPLAIN afterwards."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.statements, self.on = {}, False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and not executemany and statement.lstrip().upper().startswith("SELECT"):
            self.statements.setdefault(statement, parameters)


def sequential_scans(log):
    """The watched tables' sequential scans in the plans of the logged statements."""
    from designer.extensions import db

    found = []
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in log.statements.items():
            if not any(re.search(rf"\b{table}\b", statement) for table in WATCHED):
                continue
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            for table in WATCHED:
                if re.search(rf"Seq Scan on {table}\b", plan):
                    found.append((table, " ".join(statement.split())[:160]))
        raw.rollback()
    finally:
        raw.close()
    return found


def time_pages(app, paths, log):
    client = app.test_client()
    # PUBLIC_URL is https: the session cookie is Secure, and the client sends it over https only.
    client.environ_base["wsgi.url_scheme"] = "https"
    log_in(client)
    timings = {}
    for name, path in paths.items():
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}\n{response.text[:2000]}")
        log.on = True
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            client.get(path)
            runs.append(time.perf_counter() - started)
        log.on = False
        timings[name] = statistics.median(runs) * 1000
    return timings


def log_in(client):
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"email": "scale-admin@bench.example", "password": PASSWORD, "csrf_token": token}
    referrer = {"Referer": "https://localhost/login"}  # checked on https
    response = client.post("/login", data=data, headers=referrer)
    if response.status_code != 302:
        raise RuntimeError(f"the bench administrator could not log in:\n{response.text[:3000]}")


# -- the run -----------------------------------------------------------------


def make_admin():
    from designer.extensions import db
    from designer.records.models import User

    admin = User(name="Scale Admin", email="scale-admin@bench.example", role="admin")
    admin.set_password(PASSWORD)
    db.session.add(admin)
    db.session.commit()
    return admin


def make_template(owner):
    from campaign_env import newsletter_source

    from designer.templating import create_template

    return create_template(
        "Scale newsletter", newsletter_source(), subject="{{ contact.first_name }}", user=owner
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, help="contacts of the first start (contacts/10)")
    parser.add_argument("--history", type=int, default=10_000, help="messages of one contact")
    parser.add_argument("--hits", type=int, help="buffered opens to flush (as many as contacts)")
    parser.add_argument("--outbox", type=int, default=10_000, help="caught messages")
    add_arguments(parser)
    args = parser.parse_args(argv)
    small = args.small or max(1, args.contacts // 10)
    hits = args.hits or args.contacts
    print("load before: " + "/".join(f"{v:.2f}" for v in os.getloadavg()), flush=True)
    with BenchEnv(**env_options(args)) as env:
        figures = run(env, args, small, hits)
    print("load after: " + "/".join(f"{v:.2f}" for v in os.getloadavg()))
    report(args.contacts, figures)


def run(env, args, small, hits):
    from designer.extensions import db
    from designer.records.models import Contact

    app = env.open_app()
    postgres = env.database == "PostgreSQL"
    admin = make_admin()
    template = make_template(admin)
    step("loading", small, "contacts")
    load_contacts(small, 0, admin.id, postgres)
    first = start_in_child(env, new_campaign("Small", template, admin).id)
    step("start of", first["rows"], f"rows in {first['seconds']:.1f} s")
    step("loading", args.contacts - small, "more contacts")
    load_contacts(args.contacts - small, small, admin.id, postgres)
    dutch = [{"field": "contact.language", "op": "eq", "value": "nl"}]
    count_ms = max(time_count([]), time_count(dutch))
    big_campaign = new_campaign("Everyone", template, admin)
    big = start_in_child(env, big_campaign.id)
    step("start of", big["rows"], f"rows in {big['seconds']:.1f} s")
    step("buffering", buffer_hits(big_campaign.id, hits), "opens")
    flushed, flush_seconds = time_flush()
    step("flushed", flushed, f"hits in {flush_seconds:.1f} s")
    contact = db.session.scalar(db.select(Contact).order_by(Contact.id).limit(1))
    load_history(contact, template.current.id, args.history, postgres)
    load_outbox(args.outbox, postgres)
    if postgres:  # what autovacuum does after the start's and the flush's million writes
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(db.text("VACUUM ANALYZE"))
    report_count_ms = time_report_count(big_campaign.id)
    log = QueryLog(db.engine)
    pages = time_pages(
        app,
        {
            "report": f"/campaigns/{big_campaign.id}/report",
            "campaign": f"/campaigns/{big_campaign.id}",
            "campaigns": "/campaigns",
            "recipients": f"/api/v1/campaigns/{big_campaign.id}/recipients?limit=100",
            "org_page": f"/organisations/{contact.organisation_id}",
            "contact_page": f"/contacts/{contact.id}",
            "outbox": "/outbox",
        },
        log,
    )
    scans = sequential_scans(log) if postgres else []
    for table, statement in scans:
        print(f"sequential scan of {table}: {statement}")
    return {
        "count_ms": count_ms,
        "report_count_ms": report_count_ms,
        "small": first,
        "big": big,
        "flush_hits_per_s": flushed / flush_seconds if flush_seconds else 0,
        "pages": pages,
        "seq_scans": len(scans),
    }


def time_report_count(campaign_id):
    """The worker's count of the large campaign's report (its page then reads it)."""
    from designer.campaigns import reporting

    started = time.perf_counter()
    reporting.count_and_keep(campaign_id)
    return (time.perf_counter() - started) * 1000


def step(*words):
    print(time.strftime("%H:%M:%S"), *words, flush=True)


def report(contacts, figures):
    small, big, pages = figures["small"], figures["big"], figures["pages"]
    small_rate = small["rows"] / small["seconds"]
    big_rate = big["rows"] / big["seconds"]
    print(
        f"start (its job): {small['rows']:,} rows at {small_rate:,.0f}/s, then {big['rows']:,} rows at "
        f"{big_rate:,.0f}/s, peak {big['peak_rss_mb']:.0f} MB "
        f"({big['rss_before_mb']:.0f} MB before start)"
    )
    print("pages (ms, median of 3): " + ", ".join(f"{k} {v:.0f}" for k, v in pages.items()))
    print(
        f"RESULT contacts={contacts} count_ms={figures['count_ms']:.0f} "
        f"start_rows_per_s={big_rate:.0f} start_peak_rss_mb={big['peak_rss_mb']:.0f} "
        f"flush_hits_per_s={figures['flush_hits_per_s']:.0f} report_ms={pages['report']:.0f} "
        f"report_count_ms={figures['report_count_ms']:.0f} "
        f"org_page_ms={pages['org_page']:.0f} contact_page_ms={pages['contact_page']:.0f} "
        f"outbox_ms={pages['outbox']:.0f} seq_scans={figures['seq_scans']} "
        f"scaling={big_rate / small_rate:.2f}"
    )


if __name__ == "__main__":
    main()

"""CRM event bursts: thousands of signed events, posted at once, each processed exactly once.

A CRM importing records fires an event for each. This posts N signed events
(default 20,000) from C concurrent keep-alive connections (default 64) to the
served product: gunicorn with the product's own settings (``designer serve``'s
web server), its RQ worker(s) and the scheduler, on a fresh database. Of the
posts, 80 % are distinct events — half ``contact.created`` for new contacts,
half ``contact.updated`` for contacts the CRM sent before — and 20 % are the
same events again: half posted right behind the first (a CRM retrying at
once, both in flight together), half later (a redelivery); each re-signed with
its own timestamp, as a CRM does. A workflow mails a welcome to every created
contact (through Postfix's ``smtp-sink``).

The posts go out at a steady rate (``--rate``, default 700 posts/s: 560
distinct events/s, above the 500 events/s target), spread over the
connections, and each answer's latency counts from when its post was due, so
a post the client could not send on time counts its wait. With ``--rate 0``
every connection posts its next event as soon as the last is answered: that
measures the most the intake takes, and its latency is then the connections
divided by that rate (64 connections at 800 posts/s wait 80 ms on average
whatever the server does), not a latency at any given load.

Figures:

- ``events_per_s``: distinct events from the first post until every one is
  processed (stored, its record upserted, its workflows run);
- ``p99_ms``: the 99th percentile of the answers' latency as the CRM sees it;
- ``lost``: events answered 2xx that are not processed at the end (or not
  stored), plus posts that got no 2xx;
- ``duplicates_run``: workflow runs or welcome mails beyond one per created
  contact, and events stored twice;
- against the raw floor — the same web server answering the same posts at
  ``/bench/raw-hook`` (``hooks_app.py``: the HMAC checked and the body INSERTed
  by the raw libraries, nothing else), in the same run: at a rate, the floor's
  ``raw_p99_ms`` at that rate (and ``offered_per_s``); flat out,
  ``ratio_to_raw``, the intake rate against the floor's.

    python bench/hooks.py [--events 20000] [--connections 64] [--rate 700] [--workers 1]
                          [--sqlite]

Last line: ``RESULT events_per_s=… p99_ms=… lost=… duplicates_run=… intake_per_s=…
offered_per_s=… raw_p99_ms=…`` (flat out: ``… intake_per_s=… ratio_to_raw=…``); the
load average is printed before it.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import sys
import time

from campaign_env import BenchEnv, add_arguments, env_options, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = "bench-crm"
#: Seconds a post may wait for its answer before it counts as failed.
ANSWER_TIMEOUT = 60
#: Share of the posts that repeat an event (half at once, half later).
REPEATS = 0.2
#: Posts per second offered by default: a CRM firing events a little faster than the
#: 500 events/s target (80 % of posts are distinct events: 560 events/s offered).
RATE = 700
WELCOME = """<mjml><mj-body><mj-section><mj-column>
<mj-text>Welcome, {{ contact.first_name }}!</mj-text>
</mj-column></mj-section></mj-body></mjml>"""


# -- the events ------------------------------------------------------------------------


def plan_events(n, seed=1):
    """``(posts, distinct, created)``: the bodies to post in order (with repeats)."""
    rng = random.Random(seed)
    distinct = max(2, round(n * (1 - REPEATS)))
    events = []
    for i in range(distinct):
        if i % 2 == 0:
            record = {
                "id": f"NEW-{i:07d}",
                "first_name": "Sanne",
                "last_name": f"Nieuw {i}",
                "email": f"new{i:07d}@hooks.example",
                "language": "nl",
            }
            events.append({"id": f"evt-{i}", "type": "contact.created", "record": record})
        else:
            record = {"id": f"OLD-{i // 2:07d}", "title": f"Title {i}"}
            events.append({"id": f"evt-{i}", "type": "contact.updated", "record": record})
    posts = [json.dumps(event).encode() for event in events]
    for _ in range(n - distinct):
        original = rng.randrange(distinct)
        at_once = rng.random() < 0.5
        place = original + 1 if at_once else rng.randrange(original + 1, len(posts) + 1)
        posts.insert(place, posts[original])
    return posts, distinct, (distinct + 1) // 2


def signed_request(path, body, secret, timestamp):
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Designer-Source: {SOURCE}\r\n"
        f"X-Designer-Timestamp: {timestamp}\r\n"
        f"X-Designer-Signature: sha256={digest.hexdigest()}\r\n\r\n"
    )
    return head.encode() + body


def signed_requests(path, posts, secret):
    """Every post signed now; a repeat is signed anew a second apart, as a CRM retrying
    does (the same signature twice is a replay, refused)."""
    now, seen, requests = int(time.time()), {}, []
    for body in posts:
        seen[body] = seen.get(body, -1) + 1
        requests.append(signed_request(path, body, secret, now - seen[body]))
    return requests


# -- the client ------------------------------------------------------------------------


async def _read_answer(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _connection(port, requests, cursor, answers, schedule):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            index = cursor[0]
            if index >= len(requests):
                return
            cursor[0] += 1
            started = schedule(index)
            delay = started - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(requests[index])
            try:
                status = await asyncio.wait_for(_read_answer(reader), ANSWER_TIMEOUT)
            except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
                status = 0
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            answers[index] = (status, time.perf_counter() - started)
    finally:
        writer.close()


async def _post_all(port, requests, connections, rate):
    answers = [None] * len(requests)
    cursor = [0]
    begun = time.perf_counter() + 0.05  # once the connections are open

    def schedule(index):
        """When post ``index`` is due: at once (``rate`` 0), else one every 1/rate s. Its
        latency counts from then, so a post the client could not send on time (every
        connection waiting for an answer) counts its wait too."""
        return time.perf_counter() if not rate else begun + index / rate

    await asyncio.gather(
        *(_connection(port, requests, cursor, answers, schedule) for _ in range(connections))
    )
    return answers


def post_all(port, requests, connections, rate=0):
    """``(seconds, answers)``: every request posted once, at ``rate`` posts/s (0: as fast
    as the connections go); answers are ``(status, seconds)``."""
    started = time.perf_counter()
    answers = asyncio.run(_post_all(port, requests, connections, rate))
    return time.perf_counter() - started, answers


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# -- the installation ------------------------------------------------------------------


def prepare(env, created):
    """The contacts the updates name, the welcome workflow and the hook source's secret."""
    from sqlalchemy import insert, text

    from designer import workflows
    from designer.extensions import db
    from designer.records.models import Contact, User
    from designer.templating import create_template

    admin = User(name="Ada Admin", email="ada@northwind.example", role="admin")
    db.session.add(admin)
    db.session.commit()
    contacts = [
        {
            "external_id": f"OLD-{i:07d}",
            "first_name": "Jan",
            "last_name": f"Bestaand {i}",
            "email": f"old{i:07d}@hooks.example",
            "language": "nl",
            "custom": {},
            "tags": "",
        }
        for i in range(created)
    ]
    for start in range(0, len(contacts), 5000):
        db.session.execute(insert(Contact), contacts[start : start + 5000])
    template = create_template(
        "Welcome", WELCOME, subject="Welcome, {{ contact.first_name }}", user=admin
    )
    workflow = workflows.save_workflow(
        {
            "name": "Welcome new contacts",
            "module": "contact",
            "trigger": {"type": "created"},
            "actions": [{"type": "send_email", "template_id": template.id, "to": "record"}],
        },
        user=admin,
    )
    workflow.enabled = True
    db.session.execute(
        text("CREATE TABLE bench_raw_events (event_id VARCHAR(200) PRIMARY KEY, body TEXT)")
    )
    db.session.commit()
    _, secret = workflows.add_source(SOURCE)
    return secret


# -- the figures -----------------------------------------------------------------------


def ledger():
    """``(stored, processed, runs, run_duplicates, mails, mail_duplicates)`` right now."""
    from designer.extensions import db
    from designer.mail.models import Message
    from designer.workflows.models import Event, WorkflowRun

    def scalar(query):
        return db.session.scalar(query) or 0

    events = db.select(db.func.count(Event.id)).where(Event.source == SOURCE)
    stored = scalar(events)
    processed = scalar(events.where(Event.state == "done"))
    runs = scalar(db.select(db.func.count(WorkflowRun.id)))
    run_records = scalar(db.select(db.func.count(db.distinct(WorkflowRun.record_id))))
    mails = scalar(db.select(db.func.count(Message.id)))
    mail_addresses = scalar(db.select(db.func.count(db.distinct(Message.recipient_email))))
    db.session.rollback()
    return stored, processed, runs, runs - run_records, mails, mails - mail_addresses


def wait_processed(env, distinct, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ledger()[1] >= distinct:
            return time.perf_counter()
        for child in env.children:
            if child.poll() is not None:
                raise RuntimeError(f"a child exited early: {child.args}\n{env.logs()}")
        time.sleep(0.1)
    return None


def run(env, args):
    posts, distinct, created = plan_events(args.events)
    env.open_app()
    secret = prepare(env, created)
    for index in range(args.workers):
        env.start_worker(index)
    env.start_scheduler()
    port = free_port()
    env.env["BENCH_HOOK_SECRET"] = secret
    _, web = env.start_web("hooks_app:app", port, "/healthz")
    env.wait_for_workers(args.workers)
    print(
        f"gunicorn: {web}; {args.workers} RQ worker(s) and the scheduler; {env.database}; "
        f"{len(posts):,} posts ({distinct:,} distinct events, {created:,} creates) "
        f"from {args.connections} connections"
    )
    raw_seconds, raw_answers = post_all(
        port, signed_requests("/bench/raw-hook", posts, secret), args.connections, args.rate
    )
    started = time.perf_counter()
    seconds, answers = post_all(
        port, signed_requests("/hooks/events", posts, secret), args.connections, args.rate
    )
    finished = wait_processed(env, distinct, args.timeout)
    return {
        "raw": (raw_seconds, raw_answers),
        "product": (seconds, answers),
        "processing": (finished - started) if finished else None,
        "distinct": distinct,
        "created": created,
        "rate": args.rate,
    }


def report(figures, env):
    raw_seconds, raw_answers = figures["raw"]
    seconds, answers = figures["product"]
    distinct, created = figures["distinct"], figures["created"]
    stored, processed, runs, run_dups, mails, mail_dups = ledger()
    refused = sum(1 for status, _ in answers if status not in (200, 202))
    accepted = sum(1 for status, _ in answers if status == 202)
    latencies = [latency for _, latency in answers]
    p99 = percentile(latencies, 0.99) * 1000
    p50 = percentile(latencies, 0.50) * 1000
    tail = ", ".join(
        f"p{share * 100:g} {percentile(latencies, share) * 1000:.0f} ms"
        for share in (0.9, 0.95, 0.999)
    )
    raw_p99 = percentile([latency for _, latency in raw_answers], 0.99) * 1000
    intake, raw_intake = len(answers) / seconds, len(raw_answers) / raw_seconds
    processing = figures["processing"]
    events_per_s = distinct / processing if processing else 0
    lost = (distinct - processed) + refused
    duplicates = run_dups + mail_dups + max(0, stored - distinct) + max(0, runs - created)
    offered = f"{figures['rate']:,.0f} posts/s offered" if figures["rate"] else "flat out"
    print(
        f"{offered}: raw intake {raw_intake:,.0f} posts/s, p99 {raw_p99:.1f} ms; "
        f"product intake: {intake:,.0f} posts/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"({accepted:,} answered 202, {len(answers) - accepted - refused:,} 200, "
        f"{refused:,} other); {tail}, max {max(latencies) * 1000:.0f} ms"
    )
    print(
        f"processed {processed:,} of {distinct:,} distinct events"
        + (f" in {processing:.1f} s from the first post" if processing else " (timed out)")
        + f"; {runs:,} workflow runs for {created:,} creates; {mails:,} welcome mails queued"
    )
    if refused:
        print(f"answers other than 200/202: {refused}\n{env.logs()}", file=sys.stderr)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    against_raw = (
        f"offered_per_s={figures['rate']:.0f} raw_p99_ms={raw_p99:.1f}"
        if figures["rate"]
        else f"ratio_to_raw={intake / raw_intake:.2f}"
    )
    print(
        f"RESULT events_per_s={events_per_s:.0f} p99_ms={p99:.1f} lost={lost} "
        f"duplicates_run={duplicates} intake_per_s={intake:.0f} {against_raw}"
    )
    return lost == 0 and duplicates == 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="posts (default 20000)")
    parser.add_argument("--connections", type=int, default=64, help="connections (64)")
    parser.add_argument("--workers", type=int, default=1, help="RQ workers (default 1)")
    parser.add_argument("--timeout", type=int, default=600, help="give up after (600 s)")
    parser.add_argument(
        "--rate",
        type=float,
        default=RATE,
        help=f"posts per second offered ({RATE:g}); 0: as fast as the connections go",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    with BenchEnv(**env_options(args)) as env:
        port = env.start_smtp_sink()
        env.env["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
        figures = run(env, args)
        ok = report(figures, env)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

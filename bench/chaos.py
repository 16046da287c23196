"""The honest promise under fire: a campaign sent while workers are killed and SMTP fails.

A campaign to N contacts is sent by two real worker processes (``python -m
designer worker``) and the real scheduler (lease reaper and retry dispatcher),
to an SMTP server on loopback (aiosmtpd, in this process, announcing
PIPELINING) that answers 451 to 5% of the transactions (half at RCPT, half
after the message) and, for 1%, hangs up after receiving the whole message
without answering. Meanwhile a
worker is killed with SIGKILL (with any child it has) five times at random
moments while it sends, and started again. A deterministic RNG decides.

When the campaign is done, the server's own receipt log (one line per message
it received, dropped ones included) is compared with the ledger:

- lost: rows marked sent whose recipient never reached the server, plus rows
  not sent at the end (failed, still queued);
- duplicates: receipts beyond the first for a recipient.

The promise holds when lost is 0 and duplicates are at most the kills (each
kill may catch one message on the wire) plus the messages dropped after DATA
(received, but the sender never heard so). Exit status 1 when it does not.

With ``--redis-restart`` and ``--postgres-restart`` the bench runs its own
private servers (``private_servers.py``; the machine's shared ones are never
touched) and restarts each once while the campaign sends: Redis at about a
third of the messages, PostgreSQL at about two thirds (one alone: halfway).
A restart stops the server, leaves it down ``--down-seconds`` (2) and starts
it again; workers, scheduler and bench must carry on by themselves. The Redis
server keeps nothing across a restart (every queued job is lost: the ledger
must bring them back); on ``--sqlite`` it is the product's embedded Redis
(append-only file). Each restart may cost at most one duplicate per worker:
a worker never has more than one message sent and not yet recorded.

Leases are short (``--lease-seconds``, 10) and retries quick (first after
1 s) so the run takes minutes, not hours; everything is stopped after
``--timeout`` seconds whatever happens.

    python bench/chaos.py [--n 10000] [--kills 5] [--seed 1] [--sqlite]
                          [--redis-restart] [--postgres-restart]

Last line: ``RESULT lost=<n> duplicates=<n> kills=<n> dropped_after_data=<n>
restarts=<n> in_flight=<n>`` (``in_flight``: the duplicates the restarts may
cost), after a line with the load average.
"""

import argparse
import os
import random
import signal
import sys
import time
from collections import Counter
from contextlib import ExitStack, suppress

from campaign_env import BenchEnv, add_arguments, descendants, env_options, free_port
from private_servers import PrivateEmbeddedRedis, PrivatePostgres, PrivateRedis

TEMPORARY_RATE = 0.05
DROP_RATE = 0.01


class ChaosHandler:
    """aiosmtpd handler: 451 for some transactions, a hang-up after DATA for others; every
    message received is written to the receipt log before anything else happens to it."""

    def __init__(self, log_path, seed):
        self.rng = random.Random(seed)
        self.log = open(log_path, "a", buffering=1)  # noqa: SIM115 - closed by close()
        self.counts = Counter()

    def close(self):
        self.log.close()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        """Announce PIPELINING, as production servers do (aiosmtpd takes it, unannounced):
        the client then sends MAIL, RCPT and DATA in one write, ahead of the message."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        roll = self.rng.random()
        if roll < TEMPORARY_RATE / 2:
            self.counts["451 at RCPT"] += 1
            return "451 4.3.0 Try again later (chaos)"
        if roll < TEMPORARY_RATE:
            envelope.chaos = "451"
        elif roll < TEMPORARY_RATE + DROP_RATE:
            envelope.chaos = "drop"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        chaos = getattr(envelope, "chaos", None)
        if chaos == "451":
            self.counts["451 after DATA"] += 1
            return "451 4.3.0 Try again later (chaos)"
        kind = "dropped" if chaos == "drop" else "accepted"
        for recipient in envelope.rcpt_tos:
            self.log.write(f"{kind}\t{recipient}\t{message_id(envelope.content)}\n")
        self.counts[kind] += 1
        if chaos == "drop":  # received in full; hang up without an answer
            server.transport.abort()
            return "250 2.0.0 never heard"
        return "250 2.0.0 OK queued"


def message_id(raw):
    """The Message-ID header of ``raw`` (bytes), or ``-``."""
    head = raw[: raw.find(b"\r\n\r\n")]
    for line in head.split(b"\r\n"):
        if line[:11].lower() == b"message-id:":
            return line[11:].strip().decode("ascii", "replace")
    return "-"


def read_receipts(path):
    with open(path) as handle:
        return [line.rstrip("\n").split("\t") for line in handle if line.strip()]


class Supervisor:
    """Two workers, one of them SIGKILLed (with its children) now and then and restarted."""

    def __init__(self, env, workers, rng):
        self.env, self.rng = env, rng
        self.workers = [env.start_worker(index) for index in range(workers)]
        self.kills = 0

    def kill_one(self):
        index = self.rng.randrange(len(self.workers))
        victim = self.workers[index]
        family = [victim.pid, *descendants(victim.pid)]
        for pid in family:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        victim.wait()
        self.kills += 1
        self.workers[index] = self.env.start_worker(index)

    def check(self):
        for worker in self.workers:
            if worker.poll() is not None:
                raise RuntimeError(f"a worker exited on its own\n{self.env.logs()}")
        if self.scheduler.poll() is not None:
            raise RuntimeError(f"the scheduler exited on its own\n{self.env.logs()}")


class Restarts:
    """The planned server restarts, each at a number of messages sent."""

    def __init__(self, servers, n, down_seconds):
        self.down_seconds = down_seconds
        self.plan = [
            (n * (index + 1) // (len(servers) + 1), name, server)
            for index, (name, server) in enumerate(servers)
        ]
        self.done = 0
        self.sending_at_stop = []

    def due(self, sent):
        return bool(self.plan) and sent >= self.plan[0][0]

    def restart_next(self, sending):
        """Restart the next server; ``sending`` is the ledger's leased rows just before."""
        _, name, server = self.plan.pop(0)
        self.sending_at_stop.append(sending)
        server.restart(self.down_seconds)
        self.done += 1
        return name


def run(env, args, rng, restarts):
    from aiosmtpd.controller import Controller

    from designer import campaigns

    log_path = env.instance / "receipts.log"
    handler = ChaosHandler(log_path, args.seed)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    env.stack.callback(handler.close)
    env.stack.callback(controller.stop)
    env.env["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    env.open_app()
    campaign = env.populate(args.n)
    supervisor = Supervisor(env, args.workers, rng)
    supervisor.scheduler = env.start_scheduler()
    env.wait_for_workers(args.workers)
    # Kill while sending: at random points between 5% and 80% of the messages sent.
    thresholds = sorted(rng.uniform(0.05, 0.8) * args.n for _ in range(args.kills))
    print(
        f"{args.n:,} recipients, {args.workers} workers, lease {args.lease_seconds} s, "
        f"retries from 1 s; {args.kills} kills planned",
        flush=True,
    )
    started = time.monotonic()
    campaigns.start(campaign)
    deadline = started + args.timeout
    while True:
        counts = ledger_counts(env, campaign.id)
        if restarts.due(counts.get("sent", 0)):
            name = restarts.restart_next(counts.get("sending", 0))
            print(
                f"  {time.monotonic() - started:6.1f} s  restarted {name}, down "
                f"{args.down_seconds:g} s ({counts.get('sent', 0):,} sent, "
                f"{counts.get('sending', 0)} leased)",
                flush=True,
            )
        elif thresholds and counts.get("sent", 0) >= thresholds[0]:
            thresholds.pop(0)
            time.sleep(rng.uniform(0, 0.05))
            supervisor.kill_one()
            print(
                f"  {time.monotonic() - started:6.1f} s  killed a worker "
                f"({counts.get('sent', 0):,} sent)",
                flush=True,
            )
        elif campaign_done(env, campaign.id):
            break
        supervisor.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done after {args.timeout} s: {counts}\n{env.logs()}")
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    return campaign, supervisor.kills, handler.counts, log_path, elapsed


def ledger_counts(env, campaign_id):
    """The ledger's counts, or ``{}`` while the database does not answer (a restart)."""
    from sqlalchemy.exc import OperationalError

    from designer.extensions import db

    try:
        return env.counts(campaign_id)
    except OperationalError:
        db.session.rollback()
        return {}


def campaign_done(env, campaign_id):
    from sqlalchemy.exc import OperationalError

    from designer.extensions import db

    try:
        return env.campaign_state(campaign_id) == "done"
    except OperationalError:
        db.session.rollback()
        return False


def private_servers(args, stack):
    """Start the private servers the restarts need; return ``(name, server)`` pairs in
    the order they restart, and the BenchEnv options that point at them."""
    options = env_options(args)
    servers = []
    if args.redis_restart:
        redis = PrivateEmbeddedRedis() if args.sqlite else PrivateRedis()
        stack.callback(redis.close)
        redis.start()
        options["redis_url"] = redis.url
        servers.append(("the embedded Redis" if args.sqlite else "Redis", redis))
    if args.postgres_restart:
        postgres = PrivatePostgres()
        stack.callback(postgres.close)
        postgres.start()
        options["postgres_url"] = postgres.url
        servers.append(("PostgreSQL", postgres))
    return servers, options


def compare(env, campaign, log_path):
    """``(lost, duplicates, same_id, rows by state)`` from the receipt log and the ledger."""
    from designer.extensions import db
    from designer.mail.models import Message

    rows = db.session.execute(
        db.select(Message.recipient_email, Message.state, Message.message_id).where(
            Message.campaign_id == campaign.id
        )
    ).all()
    db.session.rollback()
    receipts = read_receipts(log_path)
    received = Counter(recipient for _, recipient, _ in receipts)
    ids = Counter((recipient, mid) for _, recipient, mid in receipts)
    states = Counter(state for _, state, _ in rows)
    lost = sum(1 for email, state, _ in rows if state != "sent" or received[email] == 0)
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    same_id = sum(count - 1 for count in ids.values() if count > 1)
    return lost, duplicates, same_id, states


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="recipients (default 10000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="RNG seed (default 1)")
    parser.add_argument(
        "--lease-seconds",
        type=int,
        default=10,
        help="how long a dead worker's messages wait (default 10)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="message ids per job (default: N/50, 20 to 200)",
    )
    parser.add_argument("--timeout", type=int, default=600, help="give up after (default 600)")
    parser.add_argument(
        "--redis-restart",
        action="store_true",
        help="restart a private Redis (the embedded one with --sqlite) while sending",
    )
    parser.add_argument(
        "--postgres-restart",
        action="store_true",
        help="restart a private PostgreSQL cluster while sending",
    )
    parser.add_argument(
        "--down-seconds",
        type=float,
        default=2.0,
        help="how long a restarted server stays down (default 2)",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.postgres_restart and args.sqlite:
        parser.error("--postgres-restart needs PostgreSQL, not --sqlite")
    rng = random.Random(args.seed)
    settings = {
        "LEASE_SECONDS": args.lease_seconds,
        "BATCH_SIZE": args.batch_size or max(20, min(200, args.n // 50)),
        "RETRY_BASE_SECONDS": 1,
        "REAP_INTERVAL": 2,
        "STALE_ENQUEUE_SECONDS": max(5, args.lease_seconds),
        # The ledger written by start() here, as before: the kills are for the senders.
        "START_INLINE_RECIPIENTS": args.n,
    }
    with ExitStack() as stack:
        servers, options = private_servers(args, stack)
        restarts = Restarts(servers, args.n, args.down_seconds)
        with BenchEnv(settings=settings, **options) as env:
            campaign, kills, server, log_path, elapsed = run(env, args, rng, restarts)
            lost, duplicates, same_id, states = compare(env, campaign, log_path)
    dropped = server["dropped"]
    print(
        f"done in {elapsed:.1f} s; ledger: "
        + ", ".join(f"{count:,} {state}" for state, count in sorted(states.items()))
    )
    print(
        f"SMTP server: {server['accepted']:,} accepted, "
        f"{server['451 at RCPT'] + server['451 after DATA']:,} answered 451 "
        f"({server['451 at RCPT']:,} at RCPT), {dropped:,} dropped after DATA"
    )
    print(f"duplicates with the Message-ID of the first copy: {same_id:,} of {duplicates:,}")
    # A worker never has more than one message sent and not yet recorded.
    in_flight = restarts.done * args.workers
    if restarts.done:
        print(
            f"restarts: {restarts.done}, leased rows at each stop: "
            + ", ".join(map(str, restarts.sending_at_stop))
            + f"; at most {args.workers} sent and unrecorded at each (one per worker)"
        )
    bound = kills + dropped + in_flight
    holds = lost == 0 and duplicates <= bound and not restarts.plan
    print(
        f"lost={lost} duplicates={duplicates} kills={kills} restarts={restarts.done} "
        f"(promise {'holds' if holds else 'BROKEN'}: at most {bound} duplicates)"
    )
    print("load average: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    print(
        f"RESULT lost={lost} duplicates={duplicates} kills={kills} dropped_after_data={dropped} "
        f"restarts={restarts.done} in_flight={in_flight}"
    )
    return 0 if holds else 1


if __name__ == "__main__":
    sys.exit(main())

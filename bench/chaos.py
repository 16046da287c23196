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

Leases are short (``--lease-seconds``, 10) and retries quick (first after
1 s) so the run takes minutes, not hours; everything is stopped after
``--timeout`` seconds whatever happens.

    python bench/chaos.py [--n 10000] [--kills 5] [--seed 1] [--sqlite]

Last line: ``RESULT lost=<n> duplicates=<n> kills=<n> dropped_after_data=<n>``.
"""

import argparse
import os
import random
import signal
import sys
import time
from collections import Counter
from contextlib import suppress

from campaign_env import BenchEnv, add_arguments, descendants, env_options, free_port

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


def run(env, args, rng):
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
    env.start_scheduler()
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
        counts = env.counts(campaign.id)
        if thresholds and counts.get("sent", 0) >= thresholds[0]:
            thresholds.pop(0)
            time.sleep(rng.uniform(0, 0.05))
            supervisor.kill_one()
            print(
                f"  {time.monotonic() - started:6.1f} s  killed a worker "
                f"({counts.get('sent', 0):,} sent)",
                flush=True,
            )
        elif env.campaign_state(campaign.id) == "done":
            break
        supervisor.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done after {args.timeout} s: {counts}\n{env.logs()}")
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    return campaign, supervisor.kills, handler.counts, log_path, elapsed


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
    add_arguments(parser)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    settings = {
        "LEASE_SECONDS": args.lease_seconds,
        "BATCH_SIZE": args.batch_size or max(20, min(200, args.n // 50)),
        "RETRY_BASE_SECONDS": 1,
        "REAP_INTERVAL": 2,
        "STALE_ENQUEUE_SECONDS": max(5, args.lease_seconds),
    }
    with BenchEnv(settings=settings, **env_options(args)) as env:
        campaign, kills, server, log_path, elapsed = run(env, args, rng)
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
    holds = lost == 0 and duplicates <= kills + dropped
    print(
        f"lost={lost} duplicates={duplicates} kills={kills} "
        f"(promise {'holds' if holds else 'BROKEN'}: at most {kills + dropped} duplicates)"
    )
    print(f"RESULT lost={lost} duplicates={duplicates} kills={kills} dropped_after_data={dropped}")
    return 0 if holds else 1


if __name__ == "__main__":
    sys.exit(main())

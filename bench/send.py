"""Campaign messages delivered per second end to end, against a raw smtplib loop.

A campaign to N contacts goes the whole way: ``campaigns.start()`` writes the
ledger rows and queues their ids on RQ in batches (for more than 1,000
contacts, ``START_INLINE_RECIPIENTS``, it queues a job that does, taken by
one of the workers first), two real worker processes
(``python -m designer worker``, one per core) claim each batch, merge the
~35 KB MJML newsletter of ``render.py`` for every recipient in the Jinja
sandbox, build the MIME message and send it over SMTP to Postfix's
``smtp-sink`` on loopback, recording each outcome in the ledger. Timed from
the call to ``start()`` until the campaign is done (the workers are started
and idle before). In the same run the floor: a bare ``smtplib`` loop sends
the same messages, built again beforehand, over one connection to the same
server. Also printed: the CPU each part used per message, and the workers'
own pace (first message sent to last).

Each run gets its own environment: a fresh PostgreSQL database (SQLite with
``--sqlite``), Redis database 15 (emptied), an instance folder in /tmp; all
of it is removed at the end, and every process started is stopped.

    python bench/send.py [--n 10000] [--workers 2] [--batch-size N] [--dkim] [--sqlite]
                         [--postgres-url URL] [--redis-url URL]

With ``--dkim`` every message is DKIM-signed (RSA-2048, through OpenSSL): the
same campaign is sent once unsigned and once signed, and the floor's loop signs
each message with the same key before sending it. Last line then:
``RESULT messages_per_s=<signed n> ratio_to_raw=<r> ratio_signed_to_unsigned=<r>``.

Last line: ``RESULT messages_per_s=<n> ratio_to_raw=<r>``.
"""

import argparse
import os
import smtplib
import sys
import time

from campaign_env import BenchEnv, add_arguments, cpu_seconds, env_options

TIMEOUT = 600
#: Where the CPU goes while the campaign is sent, by process.
PARTS = {
    "workers": lambda name, command: "designer worker" in command,
    "postgres": lambda name, command: name.startswith("postgres"),
    "smtp-sink": lambda name, command: name == "smtp-sink",
    "redis": lambda name, command: name.startswith("redis"),
    "bench (start, polling)": lambda name, command: "bench/send.py" in command,
}


def start_workers(env, workers):
    for index in range(workers):
        env.start_worker(index)
    env.wait_for_workers(workers)


def run_designer(env, campaign, n):
    """Seconds from ``start()`` until the campaign is done (the workers idle before)."""
    from designer import campaigns

    cpu_before = cpu_seconds(PARTS)
    started = time.perf_counter()
    queued = campaigns.start(campaign)
    queue_seconds = time.perf_counter() - started
    deadline = started + TIMEOUT
    while env.campaign_state(campaign.id) != "done":
        if time.perf_counter() > deadline:
            raise RuntimeError(
                f"not done after {TIMEOUT} s: {env.counts(campaign.id)}\n{env.logs()}"
            )
        if any(child.poll() is not None for child in env.children):
            raise RuntimeError(f"a child process exited early\n{env.logs()}")
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    cpu_after = cpu_seconds(PARTS)
    print(
        "CPU ms per message: "
        + ", ".join(
            f"{part} {(cpu_after[part] - cpu_before[part]) * 1000 / n:.2f}" for part in PARTS
        )
    )
    counts = env.counts(campaign.id)
    if queued not in (0, n) or counts.get("sent") != n:  # 0: the start's job queued them
        raise RuntimeError(f"expected {n} sent, got {counts} (queued {queued})\n{env.logs()}")
    return elapsed, queue_seconds, sending_window(campaign)


def sending_window(campaign):
    """Seconds from the first message sent to the last (the workers' own pace)."""
    from designer.extensions import db
    from designer.mail.models import Message

    first, last = db.session.execute(
        db.select(db.func.min(Message.sent_at), db.func.max(Message.sent_at)).where(
            Message.campaign_id == campaign.id
        )
    ).one()
    db.session.rollback()
    return (last - first).total_seconds()


def prebuilt_messages(campaign):
    """The campaign's messages built again as the workers built them: (from, to, bytes)."""
    from designer import campaigns
    from designer.extensions import db
    from designer.mail import delivery
    from designer.mail.models import Message

    ids = list(
        db.session.scalars(
            db.select(Message.id).where(Message.campaign_id == campaign.id).order_by(Message.id)
        )
    )
    built = []
    for start in range(0, len(ids), 500):
        for message, item in delivery.build_batch(
            ids[start : start + 500], eight_bit=True, gate=campaigns.sending_gate
        ):
            built.append((item.envelope_from, message.recipient_email, item.data))
        db.session.rollback()
    return built


def unsigned(data):
    """``data`` without the DKIM-Signature field our build put first."""
    if not data.startswith(b"DKIM-Signature:"):
        return data
    end = data.index(b"\r\n")
    while data[end + 2 : end + 3] in (b" ", b"\t"):
        end = data.index(b"\r\n", end + 2)
    return data[end + 2 :]


def run_raw(port, messages, signer=None):
    """Seconds a bare smtplib loop takes to send ``messages`` over one connection, each
    signed first by ``signer`` (bytes -> signature field) when given."""
    client = smtplib.SMTP("127.0.0.1", port)
    client.ehlo()
    started = time.perf_counter()
    for envelope_from, to, data in messages:
        if signer is not None:
            data = signer(data) + data
        client.sendmail(envelope_from, [to], data, mail_options=["BODY=8BITMIME"])
    elapsed = time.perf_counter() - started
    client.quit()
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="recipients (default 10000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--dkim", action="store_true", help="send signed (and unsigned, to compare)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="message ids per RQ job (default: the product's BATCH_SIZE)",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    settings = {"BATCH_SIZE": args.batch_size} if args.batch_size else {}
    with BenchEnv(settings=settings, **env_options(args)) as env:
        port = env.start_smtp_sink()
        env.env["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
        app = env.open_app()
        campaign = env.populate(args.n)
        print(
            f"{args.n:,} recipients, {args.workers} workers, batches of "
            f"{app.config['BATCH_SIZE']}, {env.database}, Redis, smtp-sink on loopback",
            flush=True,
        )
        start_workers(env, args.workers)
        print("load before: " + "/".join(f"{v:.2f}" for v in os.getloadavg()), flush=True)
        unsigned_rate = None
        if args.dkim:
            elapsed, _, _ = run_designer(env, campaign, args.n)
            unsigned_rate = args.n / elapsed
            print(f"designer, unsigned: {unsigned_rate:,.0f} messages/s", flush=True)
            campaign, signer = signed_campaign(campaign)
        elapsed, queue_seconds, window = run_designer(env, campaign, args.n)
        messages = prebuilt_messages(campaign)
        size = sum(len(data) for _, _, data in messages) / len(messages)
        if args.dkim:
            messages = [(sender, to, unsigned(data)) for sender, to, data in messages]
        raw_elapsed = run_raw(port, messages, signer if args.dkim else None)
    rate, raw_rate = args.n / elapsed, len(messages) / raw_elapsed
    signed = " signed" if args.dkim else ""
    print(
        f"designer{signed}: {rate:,.0f} messages/s ({elapsed:.2f} s from start() to done, "
        f"{queue_seconds:.2f} s of it in start(); "
        f"{size / 1024:.1f} KB each)"
    )
    if window > 0:
        print(
            f"  workers alone: {(args.n - 1) / window:,.0f} messages/s from the first "
            f"message sent to the last ({window:.2f} s)"
        )
    print(f"raw smtplib loop{signed}, one connection, same messages: {raw_rate:,.0f} messages/s")
    print("load after: " + "/".join(f"{v:.2f}" for v in os.getloadavg()))
    result = f"RESULT messages_per_s={rate:.0f} ratio_to_raw={rate / raw_rate:.2f}"
    if args.dkim:
        result += f" ratio_signed_to_unsigned={rate / unsigned_rate:.2f}"
    print(result)


def signed_campaign(sent):
    """A DKIM key for the sender's domain, and the same campaign again to send signed;
    ``(campaign, signer)``, the signer making the same signature field the raw way."""
    from designer import campaigns
    from designer.mail import dkim, dkim_sign
    from designer.mail.sender import resolve_sender

    address = resolve_sender(sent.sender).address
    key = dkim.generate_key(address.rpartition("@")[2])
    private_key = dkim.private_key_of(key)
    names = list(dkim.SIGNED_HEADERS)

    def signer(data):
        return dkim_sign.sign(
            data, domain=key.domain, selector=key.selector, private_key=private_key, names=names
        )

    again = campaigns.create_campaign(
        "Bench, signed", template=sent.template, segment=sent.segment, sender=sent.sender
    )
    return again, signer


if __name__ == "__main__":
    sys.exit(main())

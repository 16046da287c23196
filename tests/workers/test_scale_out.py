"""Scaling out on one machine: three workers, each started from its own instance folder as on
its own host, and a scheduler, sharing one PostgreSQL database and one Redis, send a
campaign with every message delivered exactly once; ``/healthz`` lists each worker."""

import socket
import time

import pytest
from rq import Worker
from support import bearer_client, wait_for

from designer import campaigns
from designer.auth.tokens import create_token
from designer.broker import get_redis
from designer.campaigns.models import Campaign
from designer.extensions import db
from designer.records import Contact

CONTACTS = 40
RETAIL = [{"field": "organisation.industry", "op": "eq", "value": "Retail"}]
#: Small batches and short periods, so that the work spreads and the test runs in seconds.
FAST = {"BATCH_SIZE": "4", "REAP_INTERVAL": "1", "SCHEDULER_LOCK_SECONDS": "3", "WORKER_NICE": "0"}
HOSTS = {"host-a": (), "host-b": (), "host-c": ("--queues", "emails,webhooks")}


@pytest.fixture
def retail_campaign(smtp_app, people, welcome):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several hosts share a PostgreSQL database, not a SQLite file")
    db.session.add_all(
        Contact(
            first_name=f"Reader{n}",
            email=f"reader{n}@devries.example",
            language="en",
            organisation=people.org,
        )
        for n in range(CONTACTS)
    )
    segment = campaigns.create_segment("Retail", RETAIL)
    campaign = campaigns.create_campaign(
        "Scale", template=welcome, segment=segment, sender=people.admin
    )
    db.session.commit()
    return campaign


@pytest.fixture
def hosts(smtp_app, smtp_server, designer_process, tmp_path):
    """A worker per host, each with an instance folder of its own; the scheduler on host-a."""
    started = {}
    for host, arguments in HOSTS.items():
        env = {**FAST, "DESIGNER_INSTANCE_PATH": str(tmp_path / host), "SMTP_URL": smtp_server.url}
        started[host] = designer_process("worker", *arguments, env=env)
    env = {**FAST, "DESIGNER_INSTANCE_PATH": str(tmp_path / "host-a")}
    started["scheduler"] = designer_process("scheduler", env=env)
    return started


def live_workers(hosts):
    pids = {process.pid for name, process in hosts.items() if name != "scheduler"}
    return {w.pid: w for w in Worker.all(connection=get_redis()) if w.pid in pids}


def test_workers_on_three_hosts_send_each_message_once(
    smtp_app, smtp_server, people, retail_campaign, hosts, tmp_path
):
    smtp_app.config["BATCH_SIZE"] = 4
    assert wait_for(lambda: len(live_workers(hosts)) == 3, timeout=180), {
        name: p.log.read_text()[-1500:] for name, p in hosts.items()
    }
    expected = campaigns.start(retail_campaign)
    assert expected == CONTACTS + 2  # and Jan and Emma, the people fixture's contacts
    db.session.commit()

    def done():
        db.session.expire_all()
        return db.session.get(Campaign, retail_campaign.id).state == "done"

    assert wait_for(done, timeout=120, interval=0.25), hosts["host-a"].log.read_text()[-2000:]
    time.sleep(2)  # anything sent twice would arrive by now
    recipients = [envelope.rcpt_tos[0] for envelope in smtp_server.handler.received]
    assert len(recipients) == expected == len(set(recipients))
    assert campaigns.progress(retail_campaign)["sent"] == expected

    workers = live_workers(hosts)
    sending = [w for w in workers.values() if w.successful_job_count]
    assert len(sending) >= 2, "the batches were shared between hosts"
    admin = bearer_client(smtp_app, create_token(people.admin, "monitor")[1])
    body = admin.get("/healthz").get_json()
    assert body["status"] == "ok" and body["workers"] == 3
    listed = {entry["pid"]: entry for entry in body["worker_details"]}
    assert set(listed) == set(workers)
    assert listed[hosts["host-c"].pid]["queues"] == ["emails", "webhooks"]
    assert listed[hosts["host-a"].pid]["queues"][0] == "periodic"
    assert all(entry["status"] == "ok" for entry in listed.values())
    scheduler = f"{socket.gethostname()}:{hosts['scheduler'].pid}:"
    assert body["scheduler_leader"].startswith(scheduler)
    # With the shared settings given, a host keeps nothing of its own in its instance folder.
    assert not [path for host in HOSTS for path in (tmp_path / host).glob("*")]

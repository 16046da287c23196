"""``/healthz`` reports the database, Redis and workers."""

from rq import Worker

from designer.broker import get_redis


def test_healthz_without_worker_is_degraded(client):
    body = client.get("/healthz").get_json()
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert body["workers"] == 0 and body["status"] == "degraded"


def test_healthz_counts_registered_workers(app, client):
    worker = Worker(["emails"], connection=get_redis())
    worker.register_birth()
    try:
        body = client.get("/healthz").get_json()
        assert body["workers"] == 1 and body["status"] == "ok"
    finally:
        worker.register_death()


def test_healthz_reports_a_dead_redis(app, client, monkeypatch):
    from redis import Redis

    dead = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    monkeypatch.setitem(app.extensions, "redis", dead)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"].startswith("error")


def _registered_worker(name, queues, state="idle"):
    worker = Worker(queues, connection=get_redis(), name=name)
    worker.register_birth()
    worker.set_state(state)
    return worker


def test_healthz_shows_each_worker_to_an_admin(admin_client, admin_api):
    workers = [
        _registered_worker("mail-1", ["emails", "webhooks"]),
        _registered_worker("pdf-1", ["pdf"], state="busy"),
    ]
    try:
        for asker in (admin_client, admin_api):
            body = asker.get("/healthz").get_json()
            assert body["workers"] == 2 and body["status"] == "ok"
            details = body["worker_details"]
            assert [(w["name"], w["queues"], w["state"]) for w in details] == [
                ("mail-1", ["emails", "webhooks"], "idle"),
                ("pdf-1", ["pdf"], "busy"),
            ]
            for entry in details:
                assert entry["host"] and entry["pid"] and entry["status"] == "ok"
                assert 0 <= entry["heartbeat_age_seconds"] < 60
                assert entry["last_heartbeat"].endswith("+00:00")
            assert body["scheduler_leader"] is None
    finally:
        for worker in workers:
            worker.register_death()


def test_healthz_keeps_hosts_from_anyone_but_admins(client, marketer_client, marketer_api):
    worker = _registered_worker("mail-1", ["emails"])
    try:
        for asker in (client, marketer_client, marketer_api):
            body = asker.get("/healthz").get_json()
            assert body["workers"] == 1 and body["worker"] == "ok"
            assert "worker_details" not in body and "scheduler_leader" not in body
    finally:
        worker.register_death()


def test_healthz_marks_a_silent_worker_stale(admin_client):
    from datetime import UTC, datetime, timedelta

    from designer.health import HEARTBEAT_STALE_SECONDS

    worker = _registered_worker("hung-1", ["emails"])
    old = datetime.now(UTC) - timedelta(seconds=HEARTBEAT_STALE_SECONDS + 5)
    get_redis().hset(worker.key, "last_heartbeat", old.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    try:
        (entry,) = admin_client.get("/healthz").get_json()["worker_details"]
        assert entry["status"] == "stale" and entry["heartbeat_age_seconds"] > 420
    finally:
        worker.register_death()

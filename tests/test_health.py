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

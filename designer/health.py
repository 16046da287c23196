"""``GET /healthz``: is the database up, does Redis answer, are workers alive.

Anyone (a load balancer, a monitor) gets the summary. A signed-in administrator, or a
request with an administrator's API token, also gets each worker (name, host, queues,
state, last heartbeat) and the scheduler that leads: host names stay private.
"""

from datetime import UTC, datetime

from flask import Blueprint, jsonify
from flask_login import current_user
from redis.exceptions import RedisError
from rq import Worker
from rq.defaults import DEFAULT_WORKER_TTL
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from designer.broker import SCHEDULER_LEADER_KEY, get_redis
from designer.extensions import db

bp = Blueprint("health", __name__)

#: An idle RQ worker reports at least this often; a heartbeat older than this is stale
#: (the worker is gone or hung, and RQ forgets it a minute later).
HEARTBEAT_STALE_SECONDS = DEFAULT_WORKER_TTL


def database_status():
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError as exc:
        db.session.rollback()
        return f"error: {exc.__class__.__name__}"


def redis_and_workers():
    """Redis' status and the live workers (none when Redis does not answer)."""
    try:
        connection = get_redis()
        connection.ping()
        return "ok", Worker.all(connection=connection)
    except (RedisError, OSError) as exc:
        return f"error: {exc.__class__.__name__}", []


def worker_health(worker, now):
    """One worker's entry: who and where it is, what it serves, when it last reported."""
    beat = worker.last_heartbeat
    age = round((now - beat.replace(tzinfo=UTC)).total_seconds(), 1) if beat else None
    return {
        "name": worker.name,
        "host": worker.hostname,
        "pid": worker.pid,
        "queues": worker.queue_names(),
        "state": worker.get_state(),
        "last_heartbeat": beat.replace(tzinfo=UTC).isoformat() if beat else None,
        "heartbeat_age_seconds": age,
        "status": "ok" if age is not None and age <= HEARTBEAT_STALE_SECONDS else "stale",
    }


def scheduler_leader():
    """The name (host:pid:random) of the scheduler that holds the leader lock, if any."""
    try:
        value = get_redis().get(SCHEDULER_LEADER_KEY)
    except (RedisError, OSError):
        return None
    return value.decode() if value else None


def _grants_needing_reconnection():
    """OAuth2 grants a provider revoked (someone must sign in again), or an error."""
    from designer.mail.oauth import needing_reconnection

    try:
        return needing_reconnection()
    except SQLAlchemyError:
        db.session.rollback()
        return "unavailable"


def is_admin():
    return current_user.is_authenticated and current_user.role == "admin"


@bp.route("/healthz")
def healthz():
    database = database_status()
    redis, workers = redis_and_workers()
    healthy = database == "ok" and redis == "ok"
    body = {
        "status": "ok" if healthy and workers else ("degraded" if healthy else "error"),
        "database": database,
        "redis": redis,
        "workers": len(workers),
        "worker": "ok" if workers else "no worker running",
    }
    if is_admin():
        now = datetime.now(UTC)
        body["worker_details"] = sorted(
            (worker_health(worker, now) for worker in workers), key=lambda w: w["name"]
        )
        body["scheduler_leader"] = scheduler_leader()
        body["oauth_reconnect_needed"] = _grants_needing_reconnection()
    return jsonify(body), 200 if healthy else 503

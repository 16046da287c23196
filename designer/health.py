"""``GET /healthz``: is the database up, does Redis answer, are workers alive."""

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from designer.broker import get_redis
from designer.extensions import db

bp = Blueprint("health", __name__)


def database_status():
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError as exc:
        db.session.rollback()
        return f"error: {exc.__class__.__name__}"


def redis_and_workers():
    try:
        connection = get_redis()
        connection.ping()
        return "ok", len(Worker.all(connection=connection))
    except (RedisError, OSError) as exc:
        return f"error: {exc.__class__.__name__}", 0


@bp.route("/healthz")
def healthz():
    database = database_status()
    redis, workers = redis_and_workers()
    healthy = database == "ok" and redis == "ok"
    body = {
        "status": "ok" if healthy and workers else ("degraded" if healthy else "error"),
        "database": database,
        "redis": redis,
        "workers": workers,
        "worker": "ok" if workers else "no worker running",
    }
    return jsonify(body), 200 if healthy else 503

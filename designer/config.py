"""Configuration: every setting, its default and where it comes from.

Settings are read from the environment when the app is created (never at
import time). With nothing set, the product runs on embedded defaults: a
SQLite file and an embedded Redis server in the instance folder, and a local
SMTP catcher whose messages appear on the Outbox page.
"""

import os
import secrets
from pathlib import Path

#: Where links in outgoing mail point (tracking pixel, clicks, unsubscribe).
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
#: Port of the local SMTP catcher started by ``designer serve`` when no
#: outgoing server is configured.
DEFAULT_CATCHER_PORT = 8025
#: How long a worker may hold a claimed message before the reaper requeues it.
DEFAULT_LEASE_SECONDS = 120
#: How many message ids one RQ job carries.
DEFAULT_BATCH_SIZE = 200
#: Upper bound for retries of a message after 4xx answers or network errors.
DEFAULT_MAX_ATTEMPTS = 8
#: First retry delay after a 4xx answer or a network error; doubles with each attempt.
DEFAULT_RETRY_BASE_SECONDS = 30
#: Seconds between runs of the lease reaper and retry dispatcher (the scheduler).
DEFAULT_REAP_INTERVAL = 15
#: A queued message whose job has not run after this long is queued again.
DEFAULT_STALE_ENQUEUE_SECONDS = 120
#: Workers lower their CPU priority by this much (``nice``): on a machine shared with
#: the web server, background work then never holds up pages, pixels or clicks.
DEFAULT_WORKER_NICE = 5
#: The time zone of recipients whose contact and organisation name none (date-based
#: workflows send "at 09:00" in the recipient's time zone).
DEFAULT_TIMEZONE = "UTC"

ENV_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "PUBLIC_URL",
    "SMTP_URL",
    "SMTP_CATCHER_PORT",
    "DEFAULT_TIMEZONE",
)
#: Numeric sending settings that may also come from the environment (tuning, benches).
NUMERIC_ENV_SETTINGS = (
    "LEASE_SECONDS",
    "BATCH_SIZE",
    "MAX_ATTEMPTS",
    "RETRY_BASE_SECONDS",
    "REAP_INTERVAL",
    "WORKER_NICE",
    "STALE_ENQUEUE_SECONDS",
)


def load_config(app, test_config=None):
    """Fill ``app.config`` from the environment, then from ``test_config``."""
    instance = Path(os.environ.get("DESIGNER_INSTANCE_PATH") or app.instance_path)
    if test_config and test_config.get("INSTANCE_PATH"):
        instance = Path(test_config["INSTANCE_PATH"])
    app.config.from_mapping(
        INSTANCE_PATH=str(instance),
        PUBLIC_URL=DEFAULT_PUBLIC_URL,
        SMTP_CATCHER_PORT=DEFAULT_CATCHER_PORT,
        LEASE_SECONDS=DEFAULT_LEASE_SECONDS,
        BATCH_SIZE=DEFAULT_BATCH_SIZE,
        MAX_ATTEMPTS=DEFAULT_MAX_ATTEMPTS,
        RETRY_BASE_SECONDS=DEFAULT_RETRY_BASE_SECONDS,
        REAP_INTERVAL=DEFAULT_REAP_INTERVAL,
        WORKER_NICE=DEFAULT_WORKER_NICE,
        DEFAULT_TIMEZONE=DEFAULT_TIMEZONE,
        STALE_ENQUEUE_SECONDS=DEFAULT_STALE_ENQUEUE_SECONDS,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=60 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    for name in ENV_SETTINGS:
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    for name in NUMERIC_ENV_SETTINGS:
        if os.environ.get(name):
            app.config[name] = _number(name, os.environ[name])
    if test_config:
        app.config.update(test_config)
    _apply_defaults(app.config, instance)


def _apply_defaults(config, instance):
    """Derive the embedded defaults for whatever was not configured."""
    config["SMTP_CATCHER_PORT"] = int(config["SMTP_CATCHER_PORT"])
    config["PUBLIC_URL"] = config["PUBLIC_URL"].rstrip("/")
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'designer.db'}"
    config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(config["DATABASE_URL"])
    config["REDIS_EMBEDDED"] = not config.get("REDIS_URL")
    if config["REDIS_EMBEDDED"]:
        config["REDIS_URL"] = f"unix://{instance / 'redis.sock'}"
    config["SMTP_CATCHER"] = not config.get("SMTP_URL")
    if config["SMTP_CATCHER"]:
        config["SMTP_URL"] = f"smtp://127.0.0.1:{config['SMTP_CATCHER_PORT']}"
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(instance)


#: Settings where 0 is meaningful (no change of priority).
ZERO_ALLOWED = ("WORKER_NICE",)


def _number(name, raw):
    """A positive number from the environment (int when it is whole)."""
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number (got {raw!r})") from None
    if not (value > 0 or (value == 0 and name in ZERO_ALLOWED)):
        raise ValueError(f"{name} must be greater than 0 (got {raw!r})")
    return int(value) if value.is_integer() else value


def _sqlalchemy_url(url):
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _instance_secret(instance):
    """Return the secret kept in the instance folder, creating it once."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key

"""Configuration: every setting, its default and where it comes from.

Settings are read from the environment when the app is created (never at
import time). With nothing set, the product runs on embedded defaults: a
SQLite file and an embedded Redis server in the instance folder, and a local
SMTP catcher whose messages appear on the Outbox page.
"""

import os
import secrets
from pathlib import Path

from designer import netguard

#: Where links in outgoing mail point (tracking pixel, clicks, unsubscribe).
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
#: Port of the local SMTP catcher started by ``designer serve`` when no
#: outgoing server is configured.
DEFAULT_CATCHER_PORT = 8025
#: How long a worker may hold a claimed message before the reaper requeues it.
DEFAULT_LEASE_SECONDS = 120
#: How many message ids one RQ job carries.
DEFAULT_BATCH_SIZE = 200
#: PostgreSQL connections a process keeps open (a gevent web worker serves many requests
#: at once: fewer kept means a connection opened and closed for each request beyond them).
DEFAULT_DATABASE_POOL_SIZE = 16
#: Connections a process may open beyond those, closed again after use.
DEFAULT_DATABASE_MAX_OVERFLOW = 4
#: Upper bound for retries of a message after 4xx answers or network errors.
DEFAULT_MAX_ATTEMPTS = 8
#: First retry delay after a 4xx answer or a network error; doubles with each attempt.
DEFAULT_RETRY_BASE_SECONDS = 30
#: Seconds between runs of the lease reaper and retry dispatcher (the scheduler).
DEFAULT_REAP_INTERVAL = 15
#: The scheduler leader's lock lasts this long unless renewed (every third of it): when
#: the leading ``designer scheduler`` dies, another one takes over within this time.
DEFAULT_SCHEDULER_LOCK_SECONDS = 30
#: Seconds between writes of the buffered opens and clicks to the database (the scheduler).
DEFAULT_TRACKING_FLUSH_SECONDS = 2
#: A queued message whose job has not run after this long is queued again.
DEFAULT_STALE_ENQUEUE_SECONDS = 120
#: A started campaign whose audience has at most this many records has its ledger written
#: and queued by the start itself (under a second); a larger one by a job on a worker,
#: its page following the progress.
DEFAULT_START_INLINE_RECIPIENTS = 1000
#: Tries to store a sent copy in the sender's own mailbox before it is marked failed
#: (saving the mailbox settings again starts over).
DEFAULT_SENT_COPY_MAX_ATTEMPTS = 10
#: First wait after a copy could not be stored; doubles with each try, up to the maximum.
DEFAULT_SENT_COPY_RETRY_BASE_SECONDS = 60
DEFAULT_SENT_COPY_RETRY_MAX_SECONDS = 3600
#: A copy being appended is not taken by another worker for this long (its worker may
#: have died).
DEFAULT_SENT_COPY_CLAIM_SECONDS = 600
#: Workers lower their CPU priority by this much (``nice``): on a machine shared with
#: the web server, background work then never holds up pages, pixels or clicks.
DEFAULT_WORKER_NICE = 5
#: The time zone of recipients whose contact and organisation name none (date-based
#: workflows send "at 09:00" in the recipient's time zone).
DEFAULT_TIMEZONE = "UTC"
#: A login session not used for this long ends (the next request asks to log in again).
DEFAULT_SESSION_IDLE_MINUTES = 120
#: A login session ends this long after the login, however busy (a working day).
DEFAULT_SESSION_MAX_HOURS = 12
#: Failed logins to one account before it is locked out for a while (a login resets it).
DEFAULT_LOGIN_LOCK_AFTER = 5
#: Failed logins from one client network (IPv4 /24, IPv6 /48) before it is locked out;
#: higher than per account, since a whole office often shares one network.
DEFAULT_LOGIN_NETWORK_LOCK_AFTER = 20
#: The first lock-out; each further failure doubles it, up to ``LOGIN_LOCK_MAX_SECONDS``.
DEFAULT_LOGIN_LOCK_SECONDS = 60
DEFAULT_LOGIN_LOCK_MAX_SECONDS = 3600
#: Mail hosts users may reach although they are not public: comma-separated host names,
#: addresses and networks (``imap.internal, 10.0.5.0/24``). Otherwise My mailbox, the
#: bounce mailbox and outgoing servers entered in the browser never connect to loopback,
#: private, link-local, shared (CGNAT), unspecified, multicast or reserved addresses
#: (``designer.netguard``). ``SMTP_URL`` is the operator's own and trusted as it is.
DEFAULT_ALLOWED_MAIL_HOSTS = ""
#: Hosts outbound webhooks may reach although they are not public, as for
#: ``ALLOWED_MAIL_HOSTS`` (``crm.internal, 10.0.5.0/24``); otherwise an endpoint URL on
#: loopback, private, link-local or other non-public addresses is refused.
DEFAULT_ALLOWED_WEBHOOK_HOSTS = ""
#: Reverse proxies in front of the app, as comma-separated addresses and networks
#: (``127.0.0.1``): their ``X-Forwarded-For``/``-Proto``/``-Host`` say who the client is;
#: anyone else's are ignored (``designer.proxies``). Empty: no proxy is trusted.
DEFAULT_TRUSTED_PROXIES = ""
#: Each organisation's or contact's counts are written back to the CRM at most once in
#: this many seconds (changes meanwhile wait and go together).
DEFAULT_CRM_WRITEBACK_MIN_SECONDS = 300
#: First wait after vtiger refused or could not be reached; doubles with each failure,
#: up to the maximum.
DEFAULT_CRM_WRITEBACK_RETRY_BASE_SECONDS = 60
DEFAULT_CRM_WRITEBACK_RETRY_MAX_SECONDS = 3600

ENV_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "PUBLIC_URL",
    "SMTP_URL",
    "SMTP_CATCHER_PORT",
    "DEFAULT_TIMEZONE",
    "ALLOWED_MAIL_HOSTS",
    "ALLOWED_WEBHOOK_HOSTS",
    "TRUSTED_PROXIES",
)
#: Numeric sending settings that may also come from the environment (tuning, benches).
NUMERIC_ENV_SETTINGS = (
    "LEASE_SECONDS",
    "BATCH_SIZE",
    "MAX_ATTEMPTS",
    "RETRY_BASE_SECONDS",
    "REAP_INTERVAL",
    "TRACKING_FLUSH_SECONDS",
    "SCHEDULER_LOCK_SECONDS",
    "WORKER_NICE",
    "STALE_ENQUEUE_SECONDS",
    "START_INLINE_RECIPIENTS",
    "SENT_COPY_MAX_ATTEMPTS",
    "SENT_COPY_RETRY_BASE_SECONDS",
    "SENT_COPY_RETRY_MAX_SECONDS",
    "SENT_COPY_CLAIM_SECONDS",
    "SESSION_IDLE_MINUTES",
    "SESSION_MAX_HOURS",
    "LOGIN_LOCK_AFTER",
    "LOGIN_NETWORK_LOCK_AFTER",
    "LOGIN_LOCK_SECONDS",
    "LOGIN_LOCK_MAX_SECONDS",
    "CRM_WRITEBACK_MIN_SECONDS",
    "CRM_WRITEBACK_RETRY_BASE_SECONDS",
    "CRM_WRITEBACK_RETRY_MAX_SECONDS",
    "DATABASE_POOL_SIZE",
    "DATABASE_MAX_OVERFLOW",
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
        DATABASE_POOL_SIZE=DEFAULT_DATABASE_POOL_SIZE,
        DATABASE_MAX_OVERFLOW=DEFAULT_DATABASE_MAX_OVERFLOW,
        MAX_ATTEMPTS=DEFAULT_MAX_ATTEMPTS,
        RETRY_BASE_SECONDS=DEFAULT_RETRY_BASE_SECONDS,
        REAP_INTERVAL=DEFAULT_REAP_INTERVAL,
        TRACKING_FLUSH_SECONDS=DEFAULT_TRACKING_FLUSH_SECONDS,
        SCHEDULER_LOCK_SECONDS=DEFAULT_SCHEDULER_LOCK_SECONDS,
        WORKER_NICE=DEFAULT_WORKER_NICE,
        DEFAULT_TIMEZONE=DEFAULT_TIMEZONE,
        STALE_ENQUEUE_SECONDS=DEFAULT_STALE_ENQUEUE_SECONDS,
        START_INLINE_RECIPIENTS=DEFAULT_START_INLINE_RECIPIENTS,
        SENT_COPY_MAX_ATTEMPTS=DEFAULT_SENT_COPY_MAX_ATTEMPTS,
        SENT_COPY_RETRY_BASE_SECONDS=DEFAULT_SENT_COPY_RETRY_BASE_SECONDS,
        SENT_COPY_RETRY_MAX_SECONDS=DEFAULT_SENT_COPY_RETRY_MAX_SECONDS,
        SENT_COPY_CLAIM_SECONDS=DEFAULT_SENT_COPY_CLAIM_SECONDS,
        SESSION_IDLE_MINUTES=DEFAULT_SESSION_IDLE_MINUTES,
        SESSION_MAX_HOURS=DEFAULT_SESSION_MAX_HOURS,
        LOGIN_LOCK_AFTER=DEFAULT_LOGIN_LOCK_AFTER,
        LOGIN_NETWORK_LOCK_AFTER=DEFAULT_LOGIN_NETWORK_LOCK_AFTER,
        LOGIN_LOCK_SECONDS=DEFAULT_LOGIN_LOCK_SECONDS,
        LOGIN_LOCK_MAX_SECONDS=DEFAULT_LOGIN_LOCK_MAX_SECONDS,
        ALLOWED_MAIL_HOSTS=DEFAULT_ALLOWED_MAIL_HOSTS,
        ALLOWED_WEBHOOK_HOSTS=DEFAULT_ALLOWED_WEBHOOK_HOSTS,
        TRUSTED_PROXIES=DEFAULT_TRUSTED_PROXIES,
        CRM_WRITEBACK_MIN_SECONDS=DEFAULT_CRM_WRITEBACK_MIN_SECONDS,
        CRM_WRITEBACK_RETRY_BASE_SECONDS=DEFAULT_CRM_WRITEBACK_RETRY_BASE_SECONDS,
        CRM_WRITEBACK_RETRY_MAX_SECONDS=DEFAULT_CRM_WRITEBACK_RETRY_MAX_SECONDS,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=60 * 1024 * 1024,
        # A form field held in memory: a template's source of up to MAX_SOURCE_CHARS
        # (``templating.versions``), URL-encoded or UTF-8 (Werkzeug's default is 500 kB).
        MAX_FORM_MEMORY_SIZE=16 * 1024 * 1024,
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
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **config["SQLALCHEMY_ENGINE_OPTIONS"],
            "pool_size": int(config["DATABASE_POOL_SIZE"]),
            "max_overflow": int(config["DATABASE_MAX_OVERFLOW"]),
        }
    config["REDIS_EMBEDDED"] = not config.get("REDIS_URL")
    if config["REDIS_EMBEDDED"]:
        config["REDIS_URL"] = f"unix://{instance / 'redis.sock'}"
    config["SMTP_CATCHER"] = not config.get("SMTP_URL")
    if config["SMTP_CATCHER"]:
        config["SMTP_URL"] = f"smtp://127.0.0.1:{config['SMTP_CATCHER_PORT']}"
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _instance_secret(instance)
    _apply_https(config)
    netguard.mail_guard(config)  # a bad ALLOWED_MAIL_HOSTS entry stops the start, named
    netguard.webhook_guard(config)  # and so does a bad ALLOWED_WEBHOOK_HOSTS entry


def _apply_https(config):
    """Served over https: cookies never travel in the clear (HSTS: ``designer.security``)."""
    if config["PUBLIC_URL"].startswith("https://"):
        config.update(
            SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https"
        )


#: Settings where 0 is meaningful (no change of priority; every start queued by a job).
ZERO_ALLOWED = ("WORKER_NICE", "START_INLINE_RECIPIENTS", "DATABASE_MAX_OVERFLOW")


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
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key

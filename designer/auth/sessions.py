"""Login sessions, kept server-side in Redis, so that ending one really ends it.

Flask's session is a signed cookie held by the browser: on its own, a copy of
it stays valid after logout. So a login also writes a Redis key named after
a random session id (the cookie carries the id; the key holds only its
SHA-256), and a request is logged in only while that key exists:

- logout deletes the key, so a copied cookie is dead;
- the key expires after ``SESSION_IDLE_MINUTES`` without a request (each
  request renews it), and a session is refused ``SESSION_MAX_HOURS`` after
  its login however busy it is;
- the key records the user's ``session_version``; changing the password or
  disabling the user raises it, which ends every other session of theirs.

Redis rather than a table: idle expiry is the key's own time to live, a
request costs one round trip (GETEX) and no database write, and ended
sessions leave nothing behind to clean up. Losing Redis logs everyone out,
which is the safe way to fail. API tokens do not use sessions.
"""

import hashlib
import json
import logging
import secrets
import time

from flask import current_app, session
from flask_login import login_user, logout_user
from redis.exceptions import RedisError

from designer.broker import get_redis
from designer.extensions import db
from designer.records.models import User

#: Where the session id is kept in Flask's (cookie) session.
COOKIE_KEY = "login_session"
PREFIX = "login-session"

log = logging.getLogger(__name__)


def _key(session_id):
    return f"{PREFIX}:{hashlib.sha256(session_id.encode()).hexdigest()}"


def _idle_ms():
    return max(1, int(current_app.config["SESSION_IDLE_MINUTES"] * 60_000))


def start(user):
    """Log ``user`` in on this browser with a new server-side session."""
    session_id = secrets.token_urlsafe(32)
    state = {"user": user.id, "version": user.session_version, "started": time.time()}
    get_redis().set(_key(session_id), json.dumps(state), px=_idle_ms())
    session[COOKIE_KEY] = session_id
    login_user(user)


def end():
    """Log this browser out and end its session, wherever else its cookie was copied."""
    session_id = session.pop(COOKIE_KEY, None)
    if session_id:
        get_redis().delete(_key(session_id))
    logout_user()


def renew(user):
    """Replace this browser's session with a new one at the user's current version (after
    a password change ends every other one)."""
    end()
    start(user)


def user_of_current_session(user_id):
    """The logged-in user of this request's session, renewing its idle time; None when the
    session ended, expired or belongs to a user who was disabled or changed password."""
    session_id = session.get(COOKIE_KEY)
    if not session_id or not str(user_id).isdigit():
        return None
    try:
        raw = get_redis().getex(_key(session_id), px=_idle_ms())
    except RedisError as exc:  # no way to tell a live session from an ended one
        log.warning("login sessions unavailable: %s", exc)
        return None
    state = json.loads(raw) if raw else None
    if state is None or state["user"] != int(user_id):
        return None
    if time.time() - state["started"] > current_app.config["SESSION_MAX_HOURS"] * 3600:
        get_redis().delete(_key(session_id))
        return None
    user = db.session.get(User, state["user"])
    if user is None or not user.is_active or user.session_version != state["version"]:
        return None
    return user

"""Server-side login sessions: logout, idle and absolute expiry, a copied cookie."""

import hashlib
import time

from account_steps import copy_cookie, logged_in, post_form, try_login
from redis import Redis
from support import bearer_client, free_port

from designer.auth.sessions import COOKIE_KEY, PREFIX


def test_logout_kills_a_copied_cookie(app, admin_client):
    thief = copy_cookie(app, admin_client)
    assert logged_in(thief)
    assert post_form(admin_client, "/logout", {}).status_code == 302
    assert not logged_in(admin_client) and not logged_in(thief)


def test_redis_keeps_only_a_digest_of_the_session_id(app, admin_client):
    with admin_client.session_transaction() as cookie:
        session_id = cookie[COOKIE_KEY]
    [key] = app.extensions["redis"].keys(f"{PREFIX}:*")
    assert key.decode() == f"{PREFIX}:{hashlib.sha256(session_id.encode()).hexdigest()}"
    assert session_id.encode() not in app.extensions["redis"].get(key)


def test_an_idle_session_expires_and_each_request_renews_it(app, admin_client):
    app.config["SESSION_IDLE_MINUTES"] = 3 / 60
    assert logged_in(admin_client)  # the key now lives 3 s from here
    for _ in range(3):
        time.sleep(1.5)
        assert logged_in(admin_client)
    time.sleep(3.5)
    assert not logged_in(admin_client)


def test_a_session_ends_after_its_lifetime_however_busy(app, admin_client):
    app.config["SESSION_MAX_HOURS"] = 2 / 3600
    assert logged_in(admin_client)
    time.sleep(2.2)
    assert not logged_in(admin_client)


def test_api_tokens_need_no_session(app, admin_token, admin_client):
    app.extensions["redis"].flushdb()  # every session gone
    assert not logged_in(admin_client)
    assert bearer_client(app, admin_token).get("/api/v1/templates").status_code == 200


def test_without_redis_nobody_is_logged_in_and_the_login_page_says_why(app, admin_client):
    working = app.extensions["redis"]
    app.extensions["redis"] = Redis(port=free_port(), socket_connect_timeout=1, retry=None)
    try:
        assert not logged_in(admin_client)
        response = try_login(app.test_client(), "admin@example.com", "demo")
        assert response.status_code == 503 and "Redis" in response.text
    finally:
        app.extensions["redis"] = working

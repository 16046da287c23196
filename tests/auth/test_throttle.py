"""Login throttling against the real Redis: per account and per network, growing lock-outs,
and an unknown address costing what a known one does."""

import statistics
import time

from account_steps import try_login

from designer.auth import throttle
from designer.extensions import db
from designer.records import User

LOCKED = "Too many failed attempts for this account. Try again in 1 minute."


def test_fifty_wrong_passwords_lock_out_even_the_right_one(client, demo):
    answers = [try_login(client, "admin@example.com", f"guess-{n}") for n in range(50)]
    assert [a.status_code for a in answers[:4]] == [401] * 4
    assert all(a.status_code == 429 and LOCKED in a.text for a in answers[4:])
    right = try_login(client, "admin@example.com", "demo")
    assert right.status_code == 429 and LOCKED in right.text
    assert try_login(client, "marketer@example.com", "demo").status_code == 302


def test_a_success_resets_the_account_count(client, demo):
    for _ in range(2):
        for n in range(4):
            assert try_login(client, "admin@example.com", f"guess-{n}").status_code == 401
        assert try_login(client, "admin@example.com", "demo").status_code == 302


def test_lock_outs_grow_with_each_failure_after_them(app, client, demo):
    app.config["LOGIN_LOCK_SECONDS"] = 1
    for n in range(5):
        try_login(client, "admin@example.com", f"guess-{n}")
    assert throttle.lockout("admin@example.com", "127.0.0.1").seconds == 1
    time.sleep(1.1)
    assert try_login(client, "admin@example.com", "guess-5").status_code == 429
    assert throttle.lockout("admin@example.com", "127.0.0.1").seconds == 2
    time.sleep(2.1)
    assert try_login(client, "admin@example.com", "demo").status_code == 302
    assert throttle.lockout("admin@example.com", "127.0.0.1") is None


def test_unknown_addresses_are_locked_out_alike(client, demo):
    answers = [try_login(client, "nobody@example.com", "x").status_code for _ in range(6)]
    assert answers == [401] * 4 + [429] * 2


def test_a_network_is_locked_out_across_accounts(app, client, people):
    limit = app.config["LOGIN_NETWORK_LOCK_AFTER"]
    for n in range(limit):
        try_login(client, f"person{n}@example.com", "x", ip=f"203.0.113.{n + 1}")
    refused = try_login(client, "ada@example.com", "secret", ip="203.0.113.200")
    assert refused.status_code == 429 and "from your network" in refused.text
    assert try_login(client, "ada@example.com", "secret", ip="203.0.114.1").status_code == 302


def test_ipv6_networks_are_slash_48(app, client, people):
    app.config["LOGIN_NETWORK_LOCK_AFTER"] = 3
    for n in range(3):
        try_login(client, f"person{n}@example.com", "x", ip=f"2001:db8:7:{n}::1")
    assert (
        try_login(client, "ada@example.com", "secret", ip="2001:db8:7:ffff::9").status_code == 429
    )
    assert try_login(client, "ada@example.com", "secret", ip="2001:db8:8::1").status_code == 302


def test_an_unknown_address_takes_as_long_as_a_known_one(app, client, demo):
    app.config["LOGIN_LOCK_AFTER"] = app.config["LOGIN_NETWORK_LOCK_AFTER"] = 100
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    admin.set_password("demo")  # a real user's work factor (the test data's is smaller)
    db.session.commit()

    def seconds(email):
        started = time.perf_counter()
        assert try_login(client, email, "not the password").status_code == 401
        return time.perf_counter() - started

    seconds("admin@example.com")  # warm up
    known, unknown = [], []
    for _ in range(7):
        known.append(seconds("admin@example.com"))
        unknown.append(seconds("nobody@example.com"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.7 < ratio < 1.4, (known, unknown)

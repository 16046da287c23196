"""Login throttling in Redis: per account and per client network, with growing lock-outs.

Each failed login counts against the e-mail address tried (known or not, so
a lock-out says nothing about which accounts exist) and against the client's
network (IPv4 /24, IPv6 /48: one address is cheap to change, a network is
not). From ``LOGIN_LOCK_AFTER`` failures on an account (``LOGIN_NETWORK_LOCK_AFTER``
from a network) each further failure locks it out: ``LOGIN_LOCK_SECONDS`` at
first, doubling, at most ``LOGIN_LOCK_MAX_SECONDS``. While locked, every
attempt is refused before the password is looked at, so even the right one
does not get in. A successful login clears the account's count; a network's
count is forgotten a day after its last failure, never by a success (an
attacker holding one account could otherwise wipe it between tries).
"""

import math
from dataclasses import dataclass

from flask import current_app
from flask_babel import ngettext

from designer.broker import get_redis
from designer.networks import client_network

#: Failures are forgotten this long after the last one.
FAILURE_MEMORY_SECONDS = 24 * 3600
PREFIX = "login-throttle"
#: The longest e-mail address (RFC 5321); longer input is cut, not stored whole.
EMAIL_LENGTH = 320

# One round trip per failure: count it, keep the count a day, and lock out once the
# count passes the limit, for a time doubling with each failure past it.
_FAIL = """
local failures = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
local over = failures - tonumber(ARGV[2])
if over < 0 then return 0 end
local seconds = math.min(tonumber(ARGV[3]) * 2 ^ math.min(over, 30), tonumber(ARGV[4]))
seconds = math.max(1, math.floor(seconds))
redis.call('SET', KEYS[2], '1', 'EX', seconds)
return seconds
"""


@dataclass(frozen=True)
class LockedOut:
    """Why and for how long logins are refused."""

    scope: str  # "account" or "network"
    seconds: int

    @property
    def minutes(self):
        return max(1, math.ceil(self.seconds / 60))

    def __str__(self):
        if self.scope == "account":
            return ngettext(
                "Too many failed attempts for this account. Try again in %(num)d minute.",
                "Too many failed attempts for this account. Try again in %(num)d minutes.",
                self.minutes,
            )
        return ngettext(
            "Too many failed attempts from your network. Try again in %(num)d minute.",
            "Too many failed attempts from your network. Try again in %(num)d minutes.",
            self.minutes,
        )


def _keys(scope, value):
    return f"{PREFIX}:{scope}:count:{value}", f"{PREFIX}:{scope}:lock:{value}"


def _account(email):
    return (email or "").strip().lower()[:EMAIL_LENGTH]


def _scopes(email, client_ip):
    config = current_app.config
    scopes = [("account", _account(email), config["LOGIN_LOCK_AFTER"])]
    network = client_network(client_ip or "")
    if network:
        scopes.append(("network", network, config["LOGIN_NETWORK_LOCK_AFTER"]))
    return scopes


def lockout(email, client_ip):
    """The lock-out in force for this account or network, else None."""
    redis = get_redis()
    scopes = _scopes(email, client_ip)
    with redis.pipeline(transaction=False) as pipe:
        for scope, value, _ in scopes:
            pipe.ttl(_keys(scope, value)[1])
        ttls = pipe.execute()
    for (scope, _, _), ttl in zip(scopes, ttls, strict=True):
        if ttl and ttl > 0:
            return LockedOut(scope, ttl)
    return None


def record_failure(email, client_ip):
    """Count a failed login; return the lock-out it starts, if it starts one."""
    config = current_app.config
    script = get_redis().register_script(_FAIL)
    started = None
    for scope, value, allowed in _scopes(email, client_ip):
        seconds = script(
            keys=list(_keys(scope, value)),
            args=[
                FAILURE_MEMORY_SECONDS,
                allowed,
                config["LOGIN_LOCK_SECONDS"],
                config["LOGIN_LOCK_MAX_SECONDS"],
            ],
        )
        if seconds and started is None:
            started = LockedOut(scope, int(seconds))
    return started


def record_success(email):
    """A login succeeded: the account starts again with a clean slate."""
    get_redis().delete(*_keys("account", _account(email)))

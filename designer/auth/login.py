"""Logging in: the throttle first, then the password (one scrypt check whoever asks),
then a server-side session.

While an account or network is locked out, the password is not even looked
at. An unknown e-mail address costs the same scrypt check as a known one and
counts as a failure like any other, so neither the time nor the answer tells
which addresses have an account.
"""

from designer.auth import sessions, throttle
from designer.auth.accounts import find_user
from designer.auth.passwords import verify

WRONG = "Wrong e-mail address or password."


class LoginRefused(Exception):
    """The login failed; the message is for the form, ``status`` for the response."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def log_in(email, password, client_ip):
    """Log the person in on this browser and return the user, or raise ``LoginRefused``."""
    locked = throttle.lockout(email, client_ip)
    if locked:
        raise LoginRefused(str(locked), 429)
    user = find_user(email)
    if not verify(user, password or ""):
        started = throttle.record_failure(email, client_ip)
        raise LoginRefused(str(started), 429) if started else LoginRefused(WRONG, 401)
    if not user.is_active:
        raise LoginRefused("This account is disabled: ask an administrator.", 403)
    throttle.record_success(email)
    sessions.start(user)
    return user


def log_out():
    sessions.end()

"""Logging in: the throttle first, then the password (one scrypt check whoever asks),
then a server-side session.

While an account or network is locked out, the password is not even looked
at. An unknown e-mail address costs the same scrypt check as a known one and
counts as a failure like any other, so neither the time nor the answer tells
which addresses have an account. The demo data's password works only from
the machine itself (``make run``): ``designer serve`` keeps demo accounts off
the network, and this holds behind any other web server too.
"""

import ipaddress

from flask_babel import gettext as _

from designer.auth import sessions, throttle
from designer.auth.accounts import demo_password_users, find_user
from designer.auth.passwords import verify
from designer.i18n import _l

WRONG = _l("Wrong e-mail address or password.")


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
        raise LoginRefused(str(started), 429) if started else LoginRefused(str(WRONG), 401)
    if not user.is_active:
        raise LoginRefused(_("This account is disabled: ask an administrator."), 403)
    if user.demo_password and not _loopback(client_ip):
        raise LoginRefused(
            _(
                "This account still has the demo password, which works only on "
                "the machine Designer runs on: set a real one with `designer user "
                "passwd EMAIL`."
            ),
            403,
        )
    throttle.record_success(email)
    sessions.start(user)
    return user


def demo_logins(client_ip):
    """The accounts still on the demo password, for the login page's hint: shown only on
    the machine itself, the one place where they work."""
    return demo_password_users() if _loopback(client_ip) else []


def _loopback(client_ip):
    try:
        address = ipaddress.ip_address(client_ip or "")
    except ValueError:
        return False
    return address.is_loopback or bool(
        getattr(address, "ipv4_mapped", None) and address.ipv4_mapped.is_loopback
    )


def log_out():
    sessions.end()

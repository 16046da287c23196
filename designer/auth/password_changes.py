"""Setting a password: by its owner (current one required), through a link, or from the CLI.

Every change applies the rules of ``designer.auth.passwords``, ends the
user's other sessions (``session_version``) and their unused set-password
links, and clears the demo-password mark. Wrong current passwords count
against the login throttle, so a borrowed session cannot be used to guess
the password either.
"""

from flask_babel import gettext as _

from designer.auth import throttle
from designer.auth.links import end_links, find_link, use_link
from designer.auth.passwords import PasswordRefused, check_new_password, verify
from designer.extensions import db


class PasswordNotChanged(ValueError):
    """The change was refused; ``field`` names the form field the message belongs to."""

    def __init__(self, message, field="password", status=400):
        super().__init__(message)
        self.field, self.status = field, status


def _checked(user, password, confirmation):
    if confirmation is not None and password != confirmation:
        raise PasswordNotChanged(_("the two new passwords are not the same"), "confirmation")
    try:
        check_new_password(password or "", email=user.email, name=user.name)
    except PasswordRefused as exc:
        raise PasswordNotChanged(str(exc)) from None
    return password


def set_password(user, password, confirmation=None):
    """Give ``user`` a new password (checked against the rules) and end their sessions."""
    user.set_password(_checked(user, password, confirmation))
    user.session_version += 1
    end_links(user)
    db.session.commit()
    return user


def change_own_password(user, current, password, confirmation, client_ip):
    """The user changes their own password; ``current`` must be right (throttled)."""
    locked = throttle.lockout(user.email, client_ip)
    if locked:
        raise PasswordNotChanged(str(locked), "current", 429)
    if not verify(user, current or ""):
        started = throttle.record_failure(user.email, client_ip)
        raise PasswordNotChanged(
            str(started) if started else _("your current password is not right"),
            "current",
            429 if started else 400,
        )
    return set_password(user, password, confirmation)


def redeem_link(token, password, confirmation):
    """Set a password through a link (used once, here); return the user."""
    link = find_link(token)
    user = link.user
    if not user.is_active:
        raise PasswordNotChanged(
            _("this account is disabled: ask an administrator"), "password", 403
        )
    _checked(user, password, confirmation)
    use_link(link)
    return set_password(user, password)

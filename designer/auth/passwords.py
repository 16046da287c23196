"""Passwords: the rules a chosen password must meet, and checking one in constant time.

A chosen password has at least ``MIN_LENGTH`` characters, is not one of the
30,000 most common passwords (zxcvbn's frequency list), does not contain the
user's name or e-mail address, and is not easy to guess by zxcvbn's estimate
(keyboard walks, repeats, dates, common words with digits added). Hashes are
scrypt (werkzeug). The demo data's password is set by the demo loader, not
chosen, so these rules do not apply to it.
"""

import re
import secrets
from functools import cache

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 256
#: zxcvbn's scores go from 0 (guessed at once) to 4; below 3 is within reach of an
#: attacker holding the hashes.
MIN_SCORE = 3
#: zxcvbn's matching grows quickly with length, and it refuses (ValueError) more than 72
#: characters: the start of a long password decides.
SCORED_LENGTH = 72
#: Name parts this short (Ada, Li) are left to the other rules.
NAME_PART_LENGTH = 4


class PasswordRefused(ValueError):
    """The password does not meet the rules (the message says which, for the form)."""


def check_new_password(password, *, email="", name=""):
    """Raise ``PasswordRefused`` unless ``password`` may be chosen by that user."""
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(
            _(
                "use at least %(min)s characters (this one has %(count)s)",
                min=MIN_LENGTH,
                count=len(password),
            )
        )
    if len(password) > MAX_LENGTH:
        raise PasswordRefused(_("use at most %(max)s characters", max=MAX_LENGTH))
    if password.lower() in _common_passwords():
        raise PasswordRefused(_("this is one of the most common passwords: choose another"))
    if _contains_identity(password, email, name):
        raise PasswordRefused(_("do not use your name or e-mail address in your password"))
    _check_guessability(password, email, name)


@cache
def _common_passwords():
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _compact(text):
    return re.sub(r"[\W_]+", "", (text or "").lower())


def _contains_identity(password, email, name):
    compact = _compact(password)
    # The domain follows the last @: a quoted local part may hold one ("bo@home"@example.com).
    local_part = _compact(email.rpartition("@")[0])
    pieces = [local_part, _compact(name)]
    pieces += [
        part
        for part in re.split(r"[\W_]+", f"{name} {email.rpartition('@')[0]}".lower())
        if len(part) >= NAME_PART_LENGTH
    ]
    return any(piece and len(piece) >= 3 and piece in compact for piece in pieces)


def _check_guessability(password, email, name):
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=[email, *name.split()])
    if result["score"] >= MIN_SCORE:
        return
    warning = (result["feedback"].get("warning") or "").rstrip(".")
    if warning:
        warning = warning[0].lower() + warning[1:]
        raise PasswordRefused(
            _(
                "this password is too easy to guess (%(warning)s): add a few more uncommon words",
                warning=warning,
            )
        )
    raise PasswordRefused(_("this password is too easy to guess: add a few more uncommon words"))


def hash_password(password):
    # scrypt is werkzeug's default too; named, so that a new default changes no hashes.
    return generate_password_hash(password, method="scrypt")  # pragma: no mutate


@cache
def _dummy_hash():
    return hash_password(secrets.token_urlsafe(16))


def verify(user, password):
    """Whether ``password`` is ``user``'s; costs one scrypt check also when ``user`` is None
    or has no password yet, so the answer's timing tells nothing about which e-mails exist."""
    dummy = _dummy_hash()  # made on the first check of either kind, so it costs both alike
    if user is None or not user.has_password:
        check_password_hash(dummy, password)
        return False
    return check_password_hash(user.password_hash, password)

"""Sender resolution: who a message is from, where replies go, which envelope sender.

By default the From address is the sending user's own. When the
administrator sets one central address for ALL outgoing mail (Settings →
Sending), From becomes that address with the user's name as the display
name, and Reply-To is the user's own address. The envelope sender (where
bounces go) can be set apart from both.
"""

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _

from designer import settings
from designer.mail.address_check import address_problem
from designer.records.merge import sender_data

POLICY_KEY = "sending"


@dataclass(frozen=True)
class Sender:
    """The resolved sender of one message."""

    user_id: int | None
    name: str
    address: str
    reply_to: str
    envelope_from: str
    language: str
    merge: dict = field(default_factory=dict)


def sending_policy():
    """``{"central_from", "envelope_from"}`` from the settings (the config as fallback)."""
    stored = settings.get_setting(POLICY_KEY, {}) or {}
    return {
        "central_from": stored.get("central_from") or current_app.config.get("CENTRAL_FROM", ""),
        "envelope_from": stored.get("envelope_from") or current_app.config.get("ENVELOPE_FROM", ""),
    }


class PolicyInvalid(ValueError):
    """A From policy that cannot be stored; ``field`` names the input at fault."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def set_sending_policy(central_from="", envelope_from="", *, central=None):
    """Store the From policy; empty values mean the user's own address. ``central``
    True says the central address was chosen, so it may not be empty."""
    central_from, envelope_from = central_from.strip(), envelope_from.strip()
    if central and not central_from:
        raise PolicyInvalid(
            "central_from", _("enter the central address, or choose each user's own address")
        )
    problem = address_problem(central_from) if central_from else None
    if problem:
        raise PolicyInvalid(
            "central_from",
            _("the central address is not an e-mail address: %(problem)s", problem=problem),
        )
    problem = address_problem(envelope_from) if envelope_from else None
    if problem:
        raise PolicyInvalid(
            "envelope_from",
            _("the envelope sender is not an e-mail address: %(problem)s", problem=problem),
        )
    settings.set_setting(POLICY_KEY, {"central_from": central_from, "envelope_from": envelope_from})


class NoSystemAddress(ValueError):
    """Mail "from the system" needs a central address or the company's e-mail."""


def system_sender(policy=None):
    """The system as sender: the central address (else the company's e-mail), under the
    company's name; no user, so no sent copy."""
    policy = policy or sending_policy()
    company = settings.company()
    address = policy["central_from"] or company["email"]
    if not address:
        raise NoSystemAddress(
            "mail from the system needs a central address (Settings → "
            "Sending) or the company's e-mail (Settings → Company)"
        )
    return Sender(
        user_id=None,
        name=company["name"] or "Designer",
        address=address,
        reply_to="",
        envelope_from=policy["envelope_from"] or address,
        language="",
        merge={**sender_data(None), "name": company["name"], "email": address},
    )


def resolve_sender(user, policy=None):
    """Apply the From policy to ``user`` (the sending user, or the admin for workflows);
    ``None`` is the system (``system_sender``)."""
    policy = policy or sending_policy()
    if user is None:
        return system_sender(policy)
    central = policy["central_from"]
    address = central or user.email
    return Sender(
        user_id=user.id,
        name=user.name,
        address=address,
        reply_to=user.email if central else "",
        envelope_from=policy["envelope_from"] or address,
        language=user.language,
        merge=sender_data(user),
    )

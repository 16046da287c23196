"""Sender resolution: who a message is from, where replies go, which envelope sender.

By default the From address is the sending user's own. When the
administrator sets one central address for ALL outgoing mail
(``CENTRAL_FROM``), From becomes that address with the user's name as the
display name, and Reply-To is the user's own address.
"""

from dataclasses import dataclass, field

from flask import current_app

from designer.records.merge import user_data


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


def resolve_sender(user):
    """Apply the From policy to ``user`` (the sending user, or the admin for workflows)."""
    central = current_app.config.get("CENTRAL_FROM", "")
    address = central or user.email
    reply_to = user.email if central else ""
    envelope = current_app.config.get("ENVELOPE_FROM", "") or address
    return Sender(
        user_id=user.id,
        name=user.name,
        address=address,
        reply_to=reply_to,
        envelope_from=envelope,
        language=user.language,
        merge=user_data(user),
    )

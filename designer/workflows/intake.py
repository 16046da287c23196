"""The hook intake: a signed event body checked and stored, or refused saying why.

Shared by the view (``hook_views``) and the fast path in front of Flask
(``hook_fastpath``), so both answer alike.
"""

import json

from designer import workflows
from designer.workflows import sources


class Rejected(Exception):
    """The event is refused: ``(status, code, message, details)``."""


def accept_signed(headers, body):
    """Store the event ``body`` signed as ``headers`` say: ``(status, answer)`` (202, or
    200 for a duplicate). ``BadSignature`` or ``Rejected`` otherwise; nothing is stored
    then, and the signature is not kept as seen (the corrected event may come again)."""
    signed = sources.verify(headers, body)
    try:
        event_id, kind, duplicate = _store(signed, body)
    except BaseException:
        signed.forget()
        raise
    state = "duplicate" if duplicate else "accepted"
    return (200 if duplicate else 202), {"status": state, "event": event_id, "type": kind}


def _store(signed, body):
    try:
        payload = json.loads(body, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Rejected(400, "bad_json", "the body is not JSON") from None
    try:
        return workflows.accept_event(payload, signed.source.name, event_id=signed.event_id)
    except workflows.InvalidEvent as exc:
        raise Rejected(422, "invalid_event", str(exc), {"field": exc.field}) from None


def _not_json(constant):
    """``NaN``, ``Infinity`` and ``-Infinity``: Python reads them, JSON has none (and the
    database's JSON refuses them)."""
    raise ValueError(f"{constant} is not JSON")

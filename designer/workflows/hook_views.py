"""``POST /hooks/events``: where a CRM posts its record events, signed with its secret
(our ``X-Designer-*`` scheme or Standard Webhooks: ``designer.workflows.sources``).

Answers 202 once the event is stored (200 when the same event id was
stored before, which runs nothing again); 401 for a bad or stale
signature, 409 for a replayed request, 422 naming the field of a bad event
(as far as the event shows it: ``designer.records.checks``). The record is
written, and the workflows run, by the processor a moment later
(``designer.workflows.processing``).
"""

import json

from flask import Blueprint, jsonify, request

from designer import workflows
from designer.errors import error_response
from designer.extensions import csrf
from designer.workflows import sources

bp = Blueprint("hooks", __name__)
#: Largest event body accepted.
MAX_BODY = 1024 * 1024


@bp.route("/hooks/events", methods=["POST"])
@csrf.exempt  # signed with the source's secret (HMAC), not a browser form
def receive_event():
    if (request.content_length or 0) > MAX_BODY:
        return _error(413, "too_large", f"an event body is at most {MAX_BODY} bytes")
    body = request.get_data(cache=True)
    try:
        signed = sources.verify(request.headers, body)
    except sources.BadSignature as exc:
        return _error(409 if exc.code == "replayed" else 401, exc.code, str(exc))
    try:
        event_id, kind, duplicate = _store(signed, body)
    except _Rejected as exc:
        signed.forget()
        return exc.response
    except Exception:
        signed.forget()
        raise
    status = "duplicate" if duplicate else "accepted"
    return jsonify({"status": status, "event": event_id, "type": kind}), (200 if duplicate else 202)


class _Rejected(Exception):
    def __init__(self, response):
        self.response = response


def _store(signed, body):
    try:
        payload = json.loads(body, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _Rejected(_error(400, "bad_json", "the body is not JSON")) from None
    try:
        return workflows.accept_event(payload, signed.source.name, event_id=signed.event_id)
    except workflows.InvalidEvent as exc:
        raise _Rejected(_error(422, "invalid_event", str(exc), {"field": exc.field})) from None


def _not_json(constant):
    """``NaN``, ``Infinity`` and ``-Infinity``: Python reads them, JSON has none (and the
    database's JSON refuses them)."""
    raise ValueError(f"{constant} is not JSON")


def _error(status, code, message, details=None):
    return error_response(status, code, message, details, as_json=True)

"""``POST /hooks/events``: where a CRM posts its record events, signed with its secret
(our ``X-Designer-*`` scheme or Standard Webhooks: ``designer.workflows.sources``).

Answers 202 once the event is stored (200 when the same event id was
stored before, which runs nothing again); 401 for a bad or stale
signature, 409 for a replayed request, 422 naming the field of a bad event
(as far as the event shows it: ``designer.records.checks``). The record is
written, and the workflows run, by the processor a moment later
(``designer.workflows.processing``).
"""

from flask import Blueprint, jsonify, request

from designer.errors import error_response
from designer.extensions import csrf
from designer.workflows import sources
from designer.workflows.intake import Rejected, accept_signed

bp = Blueprint("hooks", __name__)
#: Largest event body accepted.
MAX_BODY = 1024 * 1024


@bp.route("/hooks/events", methods=["POST"])
@csrf.exempt  # signed with the source's secret (HMAC), not a browser form
def receive_event():
    """Where ``designer.workflows.hook_fastpath`` hands what it does not answer itself: a
    body without its length, and every refusal (this view words it)."""
    if (request.content_length or 0) > MAX_BODY:
        return _error(413, "too_large", f"an event body is at most {MAX_BODY} bytes")
    try:
        status, answer = accept_signed(request.headers, request.get_data(cache=True))
    except sources.BadSignature as exc:
        return _error(409 if exc.code == "replayed" else 401, exc.code, str(exc))
    except Rejected as exc:
        return _error(*exc.args)
    return jsonify(answer), status


def _error(status, code, message, details=None):
    return error_response(status, code, message, details, as_json=True)

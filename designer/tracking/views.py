"""``GET /c/<token>`` counts a click and redirects to the link's stored URL.

The open pixel, ``GET /o/<token>.gif``, is answered before Flask by
``designer.tracking.fastpath``.
"""

from flask import Blueprint, Response, current_app, redirect, request

from designer import mail, tracking
from designer.extensions import csrf
from designer.mail.links import signer_for

bp = Blueprint("tracking", __name__)
csrf.exempt(bp)


def _hit():
    return tracking.Hit(
        request.method, request.headers.get("User-Agent", ""), request.remote_addr or ""
    )


def _not_found():
    body = "<!doctype html><title>Link not found</title><h1>Link not found</h1>"
    return Response(body, status=404, mimetype="text/html")


@bp.route("/c/<token>")
def click(token):
    """Redirect to the stored (or signed, merged) URL of a tracked link; anything unknown
    is a plain 404."""
    parsed = signer_for(current_app).parse(token)
    message = mail.find_by_token(parsed.message_token) if parsed else None
    target = mail.link_target(message, parsed.index, parsed.target) if message else None
    if target is None:
        return _not_found()
    tracking.record_click(message, parsed.index, _hit())
    return redirect(target, code=302)

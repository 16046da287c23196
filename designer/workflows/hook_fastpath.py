"""``POST /hooks/events`` answered in front of Flask when all is well.

A CRM importing records posts thousands of events at once; building Flask's
request context, running its request hooks and making a response object cost
about as much as storing the event. ``HookFastPath`` wraps the app's WSGI
callable and takes an event whose body has a ``Content-Length`` within the
limit and JSON nested no deeper than allowed: in an app context (the session
and Redis are the app's), it checks the signature and stores the event
exactly as the view does (``designer.workflows.intake``) and answers 202 or
200 with the security headers every response carries. Anything else — no length, too
large, too deep, a bad signature, a replay, a bad event, an error — goes to
the Flask view with the body put back, which checks it again and words the
refusal; nothing was stored or remembered as seen by then.
"""

import io
import json
import logging

from werkzeug.datastructures import EnvironHeaders

from designer.request_limits import MAX_EVENT_BYTES, json_depth_exceeds
from designer.workflows import intake, sources

log = logging.getLogger(__name__)
PATH = "/hooks/events"
REASONS = {200: "200 OK", 202: "202 Accepted"}


class HookFastPath:
    """WSGI middleware: a well-formed signed event stored here, everything else by Flask."""

    def __init__(self, wsgi_app, app, headers):
        self.wsgi_app, self.app, self.headers = wsgi_app, app, list(headers)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        body = _body(environ)
        answer = None if body is None else self.accept(environ, body)
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, payload = answer
        content = json.dumps(payload).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(content)))]
        start_response(REASONS[status], headers + self.headers)
        return [content]

    def accept(self, environ, body):
        """``(status, answer)`` of a stored event, or None: Flask answers."""
        with self.app.app_context():
            try:
                return intake.accept_signed(EnvironHeaders(environ), body)
            except (sources.BadSignature, intake.Rejected):
                return None
            except Exception:  # the view tries again and answers it as any error
                log.warning("the hook fast path failed; the view answers", exc_info=True)
                return None


def _body(environ):
    """The body when its length is given and within the limits (put back for Flask to
    read again), else None (the body left unread)."""
    length = environ.get("CONTENT_LENGTH") or ""
    if not length.isdigit() or not 0 < int(length) < MAX_EVENT_BYTES:
        return None
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)
    if len(body) != int(length) or json_depth_exceeds(body):
        return None
    return body


def init_app(app, headers):
    """Put the fast path in front of the app; ``headers``: the security headers its answers
    carry (``designer.security.plain_headers``)."""
    app.wsgi_app = HookFastPath(app.wsgi_app, app, headers)

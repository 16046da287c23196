"""Bounds of request bodies: how large per kind of route, and how deeply nested JSON.

The app-wide ``MAX_CONTENT_LENGTH`` is set for uploads (files, template
bundles). Events and JSON calls get smaller limits, applied before anything
reads the body, so a chunked body (no ``Content-Length``) is cut off at the
limit too (413). JSON nested deeper than ``MAX_JSON_DEPTH`` is refused with
400 before any parser recurses into it: one linear scan, strings skipped.
"""

import re

from flask import request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

#: Largest event a CRM may post to ``/hooks/events``.
MAX_EVENT_BYTES = 1024 * 1024
#: Largest JSON body of the API (a template source included).
MAX_JSON_BYTES = 10 * 1024 * 1024
#: Deepest nesting of arrays and objects accepted in a JSON body.
MAX_JSON_DEPTH = 32

#: JSON strings (skipped whole) and the brackets that nest.
JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
OPENING = frozenset(b"[{")


class RowId(IntegerConverter):
    """``<int:…>`` in a route: a row id the database can hold (32-bit), up to 2,099,999,999.

    A longer number matches no route (404) instead of reaching the database, where
    PostgreSQL answers "integer out of range" and SQLite overflows (both a 500).
    The bound is in the pattern, so such a path matches no rule at all and no
    method is wrongly called not allowed.
    """

    regex = r"(?:\d{1,9}|1\d{9}|20\d{8})"


class TooDeep(BadRequest):
    description = f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep; flatten it."


def json_depth_exceeds(body, limit=MAX_JSON_DEPTH):
    """Whether arrays and objects in ``body`` (bytes) nest deeper than ``limit``."""
    depth = 0
    for token in JSON_TOKEN.finditer(body):
        first = token.group()[0]
        if first in OPENING:
            depth += 1
            if depth > limit:
                return True
        elif first != 34:  # a closing bracket (34 is '"': a string, skipped)
            depth -= 1
    return False


def body_limit(path, is_json):
    """The largest body a request to ``path`` may send, or ``None`` for the app's own."""
    if path.startswith("/hooks/"):
        return MAX_EVENT_BYTES
    if is_json or path.startswith("/api/"):
        return MAX_JSON_BYTES
    return None


def check_body():
    """Before any view or form parsing: size limit for the route, then JSON depth."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    json_like = request.is_json or request.path.startswith("/hooks/")
    limit = body_limit(request.path, request.is_json)
    if limit is not None:
        request.max_content_length = limit
    if not json_like:
        return
    body = request.get_data(cache=True)
    if limit is not None and len(body) >= limit:
        # A chunked body is read up to the limit and no further (Werkzeug stops
        # there without a word): one that reaches it is too large.
        raise RequestEntityTooLarge()
    if json_depth_exceeds(body):
        raise TooDeep()


def init_app(app):
    # Before any blueprint adds a route: every ``<int:…>`` is a bounded row id.
    app.url_map.converters["int"] = RowId
    # First of all request hooks: the CSRF check reads the form, so the limit must
    # be in place before it.
    app.before_request_funcs.setdefault(None, []).insert(0, check_body)

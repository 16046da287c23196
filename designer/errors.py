"""Error pages and JSON errors.

API paths (``/api/...``), requests with an API token and clients asking for
JSON get ``{"error": {"code", "message", "details"}}``; browsers get a page that says
what went wrong. Invalid request data (422, or 400 for a body that is no
JSON) lists the fields at fault in ``details.fields`` and names them in the
message.
"""

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from designer.auth.accounts import administrator_names
from designer.auth.tokens import bearer_token
from designer.extensions import db
from designer.i18n import N_
from designer.records import RecordNotFound
from designer.templating import TemplateNotFound

#: SQLSTATE of PostgreSQL's "integer out of range" (and any numeric value out of range).
OUT_OF_RANGE = "22003"
OUT_OF_RANGE_MESSAGE = (
    "A number in the request is larger than any id or page this product keeps "
    "(they go up to 2,147,483,647)."
)


#: Messages error pages show translated: ours, Werkzeug's and Flask-WTF's (CSRF).
PAGE_MESSAGES = (
    N_(
        "A number in the request is larger than any id or page this product keeps "
        "(they go up to 2,147,483,647)."
    ),
    N_("This is for admin users only."),
    N_("The browser (or proxy) sent a request that this server could not understand."),
    N_(
        "You don't have the permission to access the requested resource. It is either "
        "read-protected or not readable by the server."
    ),
    N_(
        "The requested URL was not found on the server. If you entered the URL manually "
        "please check your spelling and try again."
    ),
    N_("The method is not allowed for the requested URL."),
    N_("The data value transmitted exceeds the capacity limit."),
    N_(
        "The server encountered an internal error and was unable to complete your request. "
        "Either the server is overloaded or there is an error in the application."
    ),
    N_("The CSRF token has expired."),
    N_("The CSRF session token is missing."),
    N_("The CSRF tokens do not match."),
    N_("The CSRF token is missing."),
    N_("The CSRF token is invalid."),
)

#: Response headers an error keeps from its exception (e.g. WWW-Authenticate, Allow).
KEPT_HEADERS = ("WWW-Authenticate", "Allow", "Retry-After")


class ApiError(HTTPException):
    """An error answered as JSON with our own ``code`` (e.g. ``invalid_state``) and details."""

    def __init__(self, status, error_code, message, details=None):
        super().__init__(description=message)
        self.code = status
        self.error_code = error_code
        self.details = details or {}


def wants_json():
    if request.path.startswith(("/api/", "/hooks/")) or bearer_token(request) is not None:
        return True
    accept = request.accept_mimetypes
    best = accept.best_match(["application/json", "text/html"])
    return best == "application/json" and accept[best] > accept["text/html"]


def error_response(status, code, message, details=None, as_json=None, page_message=None):
    """The error as JSON for API clients (or when ``as_json``), else as a page.

    The page shows ``page_message``, else ``message`` translated when the catalogue
    knows it (JSON stays English).
    """
    if as_json or (as_json is None and wants_json()):
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        return jsonify(body), status
    administrators = _administrators() if status == 403 else []
    if page_message is None:
        page_message = _(message) if isinstance(message, str) and message else message
    page = render_template(
        "error.html", status=status, message=page_message, administrators=administrators
    )
    return page, status


def _administrators():
    """Whom a signed-in user refused a page can ask (nobody named when not signed in)."""
    return administrator_names() if current_user.is_authenticated else []


def field_errors(messages):
    """webargs/marshmallow messages by location (``{"json": {"name": [...]}}``) as one dict."""
    fields = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            fields.update(errors)
        else:
            fields[location] = errors
    return fields


def _paths(errors, prefix=""):
    """``("filters.0.field", "Must be one of …")`` for every message, depth first."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            name = "body" if key == "_schema" else str(key)
            yield from _paths(value, f"{prefix}.{name}" if prefix else name)
    elif isinstance(errors, list | tuple):
        for item in errors:
            if isinstance(item, dict | list | tuple):
                yield from _paths(item, prefix)
            else:
                yield prefix, str(item)
    else:
        yield prefix, str(errors)


def describe_fields(fields, limit=3):
    """One sentence naming the fields at fault: ``name: Missing data for required field.``"""
    found = list(_paths(fields))
    text = "; ".join(
        f"{path}: {message.rstrip('.')}" if path else message.rstrip(".")
        for path, message in found[:limit]
    )
    return text + (f" (and {len(found) - limit} more)." if len(found) > limit else ".")


def http_error(exc):
    """Any HTTP error (ours, Werkzeug's, webargs' validation errors) in our shape."""
    status = exc.code or 500
    code = getattr(exc, "error_code", None) or (exc.name or "error").lower().replace(" ", "_")
    message = exc.description or exc.name
    details = dict(getattr(exc, "details", None) or {})
    messages = (getattr(exc, "data", None) or {}).get("messages")
    if messages:
        details["fields"] = field_errors(messages)
        code = "invalid_request" if status == 422 else code
        message = describe_fields(details["fields"])
    headers = [(name, value) for name, value in exc.get_headers() if name in KEPT_HEADERS]
    body, status = error_response(status, code, message, details)
    return body, status, headers


def _sqlstate(exc):
    original = getattr(exc, "orig", None)
    return getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)


def init_app(app):
    @app.errorhandler(RecordNotFound)
    @app.errorhandler(TemplateNotFound)
    def not_found(exc):
        return error_response(404, "not_found", str(exc))

    @app.errorhandler(OverflowError)  # SQLite: an id past 64 bits
    @app.errorhandler(DataError)  # PostgreSQL: an id past 32 bits
    def out_of_range(exc):
        if isinstance(exc, DataError) and _sqlstate(exc) != OUT_OF_RANGE:
            raise exc
        db.session.rollback()
        return error_response(400, "out_of_range", OUT_OF_RANGE_MESSAGE)

    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        message = f"{exc.description} Reload the page and try again."
        page_message = _(
            "%(reason)s Reload the page and try again.", reason=_(str(exc.description))
        )
        return error_response(400, "csrf_failed", message, page_message=page_message)

    app.register_error_handler(HTTPException, http_error)

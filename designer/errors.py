"""Error pages and JSON errors.

API paths (``/api/...``) and clients asking for JSON get
``{"error": {"code", "message", "details"}}``; browsers get a page that says
what went wrong.
"""

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from designer.records import RecordNotFound
from designer.templating import TemplateNotFound


def wants_json():
    if request.path.startswith("/api/"):
        return True
    accept = request.accept_mimetypes
    best = accept.best_match(["application/json", "text/html"])
    return best == "application/json" and accept[best] > accept["text/html"]


def error_response(status, code, message, details=None, as_json=None):
    """The error as JSON for API clients (or when ``as_json``), else as a page."""
    if as_json or (as_json is None and wants_json()):
        body = {"error": {"code": code, "message": message, "details": details or {}}}
        return jsonify(body), status
    return render_template("error.html", status=status, message=message), status


def init_app(app):
    @app.errorhandler(RecordNotFound)
    @app.errorhandler(TemplateNotFound)
    def not_found(exc):
        return error_response(404, "not_found", str(exc))

    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        message = f"{exc.description} Reload the page and try again."
        return error_response(400, "csrf_failed", message)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

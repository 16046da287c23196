"""Logins, roles and API tokens: who may use which page.

Every blueprint calls ``protect(bp)`` (or ``protect(bp, role="admin")``), so
the rule holds for each of its routes; only the login page, the page a
set-password link opens, the health check, the API's description
(``/api/openapi.json``, ``/api/docs``) and the tracking endpoints are public.

A request is someone's either by the session cookie of a login (checked
against its server-side session, ``designer.auth.sessions``) or by an API
token (``Authorization: Bearer <token>``); a request that names a token is
that token's user whatever cookie it carries, and has that user's role.
Disabled users are nobody's: their sessions and tokens stop working.
"""

from functools import wraps

from flask import abort, request
from flask_login import current_user
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from designer.auth.sessions import user_of_current_session
from designer.auth.tokens import bearer_token, user_for_token
from designer.extensions import login_manager
from designer.records.models import ROLES

__all__ = ["ROLES", "protect", "require_role", "signed_in_by_token"]


@login_manager.user_loader
def load_user(user_id):
    if bearer_token(request) is not None:
        return None  # the token decides (see load_token_user)
    return user_of_current_session(user_id)


@login_manager.request_loader
def load_token_user(req):
    return user_for_token(bearer_token(req))


def signed_in_by_token():
    """True when the request's user comes from a valid API token (not a cookie)."""
    return bearer_token(request) is not None and current_user.is_authenticated


@login_manager.unauthorized_handler
def unauthorized():
    from flask import redirect, url_for

    if bearer_token(request) is not None:
        raise Unauthorized(
            "The API token is unknown or has been revoked.",
            www_authenticate=WWWAuthenticate("bearer"),
        )
    if request.path.startswith("/api/"):
        raise Unauthorized(
            "Send an API token (Authorization: Bearer <token>) or log in.",
            www_authenticate=WWWAuthenticate("bearer"),
        )
    return redirect(url_for("auth.login", next=request.full_path))


def _allowed(role):
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if role and current_user.role != role:
        abort(403, description=f"This is for {role} users only.")
    return None


def protect(bp, role=None):
    """Require a logged-in user (with ``role``, when given) on every route of ``bp``."""
    bp.before_request(lambda: _allowed(role))


def require_role(role):
    """Decorator for single views stricter than their blueprint."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            return _allowed(role) or view(*args, **kwargs)

        return wrapped

    return decorator

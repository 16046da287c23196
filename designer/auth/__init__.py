"""Logins and roles: who may use which page.

Every blueprint calls ``protect(bp)`` (or ``protect(bp, role="admin")``), so
the rule holds for each of its routes; only the login page, the health check
and the tracking endpoints are public.
"""

from functools import wraps

from flask import abort, request
from flask_login import current_user

from designer.extensions import db, login_manager
from designer.records.models import ROLES, User

__all__ = ["ROLES", "authenticate", "protect", "require_role"]


@login_manager.user_loader
def load_user(user_id):
    return db.session.get(User, int(user_id)) if str(user_id).isdigit() else None


@login_manager.unauthorized_handler
def unauthorized():
    from flask import redirect, url_for

    if request.path.startswith("/api/"):
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path))


def authenticate(email, password):
    """Return the user whose e-mail and password match, else None."""
    user = db.session.scalar(db.select(User).where(User.email == (email or "").strip().lower()))
    return user if user and user.check_password(password or "") else None


def _allowed(role):
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if role and current_user.role != role:
        abort(403)
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

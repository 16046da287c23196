"""CSRF checks: every cookie-authenticated change carries a CSRF token; API tokens need none.

Flask-WTF's automatic check is switched off (``WTF_CSRF_CHECK_DEFAULT``) and
run here instead, for the same methods and with the same exemptions
(``csrf.exempt``), except for requests whose user comes from a valid bearer
token: a browser never adds an ``Authorization`` header to a forged request
by itself, so such a request cannot ride on someone's session. Anonymous
requests to ``/api/`` are answered 401 by the login check instead.
"""

from flask import current_app, request
from flask_login import current_user

from designer.auth import signed_in_by_token
from designer.extensions import csrf


def check_csrf():
    config = current_app.config
    if not config["WTF_CSRF_ENABLED"] or request.method not in config["WTF_CSRF_METHODS"]:
        return
    if signed_in_by_token():
        return
    if request.path.startswith("/api/") and not current_user.is_authenticated:
        return
    csrf.protect(apply_exemptions=True)


def init_app(app):
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.before_request(check_csrf)

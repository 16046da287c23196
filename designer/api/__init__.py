"""The documented REST API under ``/api/v1``, its OpenAPI 3 description and docs page.

One module per resource (``templates``, ``fields``, ``images``, ``blocks``,
``records``, ``segments``, ``campaigns``, ``messages``, ``pdfs``, ``exports``,
``workflows``, ``sending``), each an ``ApiBlueprint`` named ``bp`` with its
marshmallow schemas beside its views (shared pieces in ``schemas`` and
``pagination``); a view parses its input, calls the part's Python API and
returns. A new resource is a new module listed in ``RESOURCES``. The document
is served at ``/api/openapi.json`` and shown at ``/api/docs``; both are public,
every operation needs a token or a login.

This is the app's only JSON API: the pages' scripts call it too, with their
login session and the page's CSRF token (``designer.auth.csrf``).
"""

from importlib import import_module

from designer.api.spec import DESCRIPTION, DesignerApi

#: Modules of ``designer.api`` holding a resource blueprint ``bp``, in the docs' order.
RESOURCES = (
    "templates",
    "fields",
    "images",
    "blocks",
    "records",
    "segments",
    "campaigns",
    "messages",
    "pdfs",
    "exports",
    "workflows",
    "sending",
)

SETTINGS = {
    "API_TITLE": "Designer API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {"description": DESCRIPTION},
        "security": [{"bearerAuth": []}],
    },
}
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token from /account/tokens, e.g. `dsn_…`.",
}


def init_app(app):
    """Register every resource, the document and the docs page on ``app``."""
    from designer.api.docs import bp as docs_bp

    for name, value in SETTINGS.items():
        app.config.setdefault(name, value)
    api = DesignerApi(app)
    api.spec.components.security_scheme("bearerAuth", BEARER)
    for name in RESOURCES:
        api.register_blueprint(import_module(f"designer.api.{name}").bp)
    app.register_blueprint(docs_bp)
    return api

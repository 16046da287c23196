"""The API docs page (``/api/docs``): Swagger UI over ``/api/openapi.json``.

Swagger UI comes from the npm package ``swagger-ui-dist``, copied into
``static/dist/swagger-ui/`` by the Makefile's asset build, so the page loads
scripts from the app only (the pages' Content-Security-Policy allows no other).
"""

from flask import Blueprint, render_template

bp = Blueprint("apidocs", __name__)


@bp.route("/api/docs")
def page():
    """Public, like the document it shows; trying requests needs a token or a login."""
    return render_template("api/docs.html")

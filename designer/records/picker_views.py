"""The record picker's search: records matching what is typed, as JSON for the picker's script."""

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from designer.auth import protect
from designer.errors import error_response
from designer.records.picker import MAX_QUERY, PICKER_MODULES, search_choices

bp = Blueprint("record_picker", __name__)
protect(bp)


@bp.route("/records/search/<module>")
def search(module):
    """``?q=`` words of a name, e-mail address or number; at most ten choices."""
    if module not in PICKER_MODULES:
        return error_response(
            404,
            "not_found",
            _("there is no picker for %(module)s records", module=module[:40]),
            as_json=True,
        )
    query = request.args.get("q", "")
    if len(query) > MAX_QUERY:
        return error_response(
            400,
            "query_too_long",
            _("type at most %(count)s characters", count=MAX_QUERY),
            as_json=True,
        )
    choices = search_choices(module, query)
    response = jsonify({"results": [choice.as_json() for choice in choices]})
    response.headers["Cache-Control"] = "private, no-store"
    return response

"""The API object and its blueprints: the OpenAPI document built from the views.

``DesignerApi`` is flask-smorest's ``Api`` answering every error in our shape
(``designer.errors``) and documenting that shape; ``ApiBlueprint`` documents,
on every operation, the answers any request can get: 401 without a valid
token or login, 400 and 422 when it takes a body (JSON or an upload).

Names in the document are stable, so clients generated from it keep theirs: a
component schema is named after its class (``MessageSchema`` is ``Message``;
names are unique, ``tests/api/test_openapi.py`` checks), and each operation's
``operationId`` is its view function's name (``send_message``), which
generated clients use for their functions.
"""

from flask_smorest import Api, Blueprint

from designer.api.schemas import ErrorSchema
from designer.errors import http_error

DESCRIPTION = """\
The REST API of Designer: templates, merge fields, images, saved blocks, CRM records,
audiences, campaigns, messages, PDFs and exports, workflows and sending settings.

**Authentication.** Create a token on your *API tokens* page (`/account/tokens`)
and send it as `Authorization: Bearer <token>`. A token acts as its user, with
the user's role: operations marked *admins only* answer 403 to other users.
Designer's own pages call this API with their login session instead; such
requests that change something carry the page's CSRF token in `X-CSRFToken`.

**Lists that grow** come in pages: `?page=1&per_page=50` (at most 100), answered
with `page`, `per_page` and `total` beside the items.

**Errors** are always JSON: `{"error": {"code", "message", "details"}}`.
Invalid input is answered 422 with the fields at fault in `details.fields`.
"""


class DesignerApi(Api):
    """flask-smorest's Api with our error body, documented as the only error shape."""

    ERROR_SCHEMA = ErrorSchema
    #: Every status an operation can answer is listed; there is no catch-all "default".
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error):
        return http_error(error)


#: Where a request body's arguments are read from (JSON, or a multipart upload).
BODY_LOCATIONS = ("json", "files")


class ApiBlueprint(Blueprint):
    """A resource's blueprint; its operations document 401 (and 400/422 for bodies)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.insert(0, self._prepare_common_responses_doc)

    def _store_endpoint_docs(self, endpoint, obj, parameters, tags, **options):
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method, doc in self._docs[endpoint].items():
            if method != "parameters":
                doc.setdefault("manual_doc", {}).setdefault("operationId", endpoint)

    @staticmethod
    def _prepare_common_responses_doc(doc, doc_info, **kwargs):
        responses = doc_info.setdefault("response", {}).setdefault("responses", {})
        responses.setdefault(401, ["UNAUTHORIZED"])
        parameters = doc_info.get("arguments", {}).get("parameters", [])
        if any(p.get("in") in BODY_LOCATIONS for p in parameters):
            responses.setdefault(400, ["BAD_REQUEST"])
        return doc

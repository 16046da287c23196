"""The OpenAPI document and the docs page: public, complete, and loading nothing from elsewhere."""

import re
from pathlib import Path

from designer import ROOT

OPERATIONS = {
    ("get", "/api/v1/templates"),
    ("post", "/api/v1/templates"),
    ("get", "/api/v1/templates/{template_id}"),
    ("post", "/api/v1/templates/{template_id}/versions"),
    ("get", "/api/v1/templates/{template_id}/preview"),
    ("put", "/api/v1/records/{module}"),
    ("get", "/api/v1/records/{module}/{record_id}"),
    ("get", "/api/v1/campaigns"),
    ("post", "/api/v1/campaigns"),
    ("get", "/api/v1/campaigns/{campaign_id}"),
    ("get", "/api/v1/campaigns/{campaign_id}/progress"),
    ("post", "/api/v1/campaigns/{campaign_id}/start"),
    ("post", "/api/v1/campaigns/{campaign_id}/pause"),
    ("post", "/api/v1/campaigns/{campaign_id}/resume"),
    ("post", "/api/v1/campaigns/{campaign_id}/cancel"),
    ("get", "/api/v1/messages/{message_id}"),
    ("post", "/api/v1/messages"),
    ("get", "/api/v1/records/{module}/{record_id}/messages"),
    ("get", "/api/v1/messages/{message_id}/outcomes"),
    ("get", "/api/v1/pdfs/{module}/{record_id}"),
    ("post", "/api/v1/templates/{template_id}/preview"),
    ("post", "/api/v1/templates/{template_id}/pdf-preview"),
    ("get", "/api/v1/templates/{template_id}/attachments"),
    ("put", "/api/v1/templates/{template_id}/attachments"),
    ("get", "/api/v1/templates/{template_id}/blocks"),
    ("get", "/api/v1/fields/{module}"),
    ("get", "/api/v1/images"),
    ("post", "/api/v1/images"),
    ("get", "/api/v1/blocks"),
    ("post", "/api/v1/blocks"),
    ("delete", "/api/v1/blocks/{block_id}"),
    ("get", "/api/v1/segments"),
    ("post", "/api/v1/segments/count"),
    ("post", "/api/v1/campaigns/{campaign_id}/schedule"),
    ("get", "/api/v1/campaigns/{campaign_id}/report"),
    ("post", "/api/v1/exports"),
    ("get", "/api/v1/exports/{export_id}"),
    ("get", "/api/v1/sending/policy"),
    ("put", "/api/v1/sending/policy"),
    ("get", "/api/v1/sending/servers"),
    ("post", "/api/v1/sending/servers"),
    ("get", "/api/v1/sending/servers/{server_id}"),
    ("put", "/api/v1/sending/servers/{server_id}"),
    ("post", "/api/v1/sending/servers/{server_id}/test"),
}
#: Lists that grow: each answers one page (``page``, ``per_page``, ``total``).
PAGED = (
    "/api/v1/images",
    "/api/v1/blocks",
    "/api/v1/segments",
    "/api/v1/sending/servers",
)
#: Lists without bound: cursor pages (``limit``, ``cursor`` in; ``next_cursor`` out).
CURSOR_PAGED = (
    "/api/v1/records/{module}/{record_id}/messages",
    "/api/v1/campaigns/{campaign_id}/recipients",
    "/api/v1/workflows/{workflow_id}/runs",
)


def operations(spec):
    return {
        (method, path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }


def test_document_is_public_openapi_3_with_every_operation(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Designer API"
    assert set(operations(spec)) >= OPERATIONS
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from /account/tokens, e.g. `dsn_…`.",
    }
    assert spec["security"] == [{"bearerAuth": []}]


def test_every_operation_documents_its_errors_in_our_shape(client):
    spec = client.get("/api/openapi.json").get_json()
    for (method, path), operation in operations(spec).items():
        responses = operation["responses"]
        assert "default" not in responses, path
        assert responses["401"] == {"$ref": "#/components/responses/UNAUTHORIZED"}, path
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in operation:
            assert {"400", "422"} <= set(responses), (method, path)
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "details"}
    assert operations(spec)[("put", "/api/v1/records/{module}")]["responses"]["403"]


def test_the_document_holds_only_the_versioned_api(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert all(path.startswith("/api/v1/") for path in paths)


def test_the_app_has_no_other_json_api(app):
    """The pages' scripts use /api/v1 too: nothing else answers under /api/."""
    others = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and not rule.rule.startswith("/api/v1/")
    }
    assert others == {"/api/openapi.json", "/api/docs"}


def test_growing_lists_come_in_pages_and_admin_operations_say_403(client):
    spec = client.get("/api/openapi.json").get_json()
    for path in PAGED:
        operation = spec["paths"][path]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {"page", "per_page"}, path
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        name = schema["$ref"].rsplit("/", 1)[1]
        assert {"page", "per_page", "total"} <= set(
            spec["components"]["schemas"][name]["required"]
        ), path
    for path in CURSOR_PAGED:
        operation = spec["paths"][path]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {"limit", "cursor"}, path
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        required = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]["required"]
        assert {"limit", "next_cursor"} <= set(required) and "total" not in required, path
    for (method, path), operation in operations(spec).items():
        if path.startswith("/api/v1/sending/"):
            assert "403" in operation["responses"], (method, path)


def test_docs_page_loads_swagger_ui_from_the_app_only(client, demo):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>", response.text)
    code = [a for a in scripts if 'type="application/json"' not in a]  # JSON is inert data
    assert code and all('src="/static/' in attributes for attributes in code)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text)
    assert "/static/dist/swagger-ui/swagger-ui-bundle.js" in assets
    assert "/static/dist/swagger-ui/swagger-ui.css" in assets
    for asset in assets:
        built = Path(ROOT, asset.lstrip("/"))
        assert built.is_file(), f"{built} is missing: `make assets` builds it"
        assert client.get(asset).status_code == 200
    assert 'data-spec-url="/api/openapi.json"' in response.text


def test_docs_page_points_logged_in_users_to_their_tokens(admin_client):
    page = admin_client.get("/api/docs").text
    assert 'href="/account/tokens"' in page and "Authorization: Bearer" in page


def test_names_in_the_document_are_unique_and_stable(client):
    """Generated clients name their models after the schemas and their functions after the
    operations: each schema is named after its class (apispec would number a second one),
    each operation after its view, every name once."""
    spec = client.get("/api/openapi.json").get_json()
    names = spec["components"]["schemas"]
    assert not [name for name in names if name[-1].isdigit()]
    ids = [operation["operationId"] for operation in operations(spec).values()]
    assert len(ids) == len(set(ids))
    assert operations(spec)[("post", "/api/v1/messages")]["operationId"] == "send_message"
    path = "/api/v1/records/{module}/{record_id}"
    assert operations(spec)[("get", path)]["operationId"] == "get_record"
    # An object property is generated as a model named <schema><Property>: none may
    # collide with a schema (the records' upsert body was once "RecordData").
    inline = {
        f"{name}{prop.title().replace('_', '')}"
        for name, schema in names.items()
        for prop, value in schema.get("properties", {}).items()
        if value.get("type") == "object"
    }
    assert not inline & set(names)


def test_sending_and_a_records_messages_are_documented_with_examples(client):
    spec = client.get("/api/openapi.json").get_json()
    send = operations(spec)[("post", "/api/v1/messages")]
    assert send["requestBody"]["content"]["application/json"]["example"]["template_id"]
    answer = send["responses"]["202"]["content"]["application/json"]
    assert answer["schema"] == {"$ref": "#/components/schemas/Message"}
    assert answer["example"]["state"] == "queued"
    assert {"403", "409", "422"} <= set(send["responses"])
    assert "suppressed" in send["description"]
    history = operations(spec)[("get", "/api/v1/records/{module}/{record_id}/messages")]
    assert "newest first" in history["summary"]

"""The workflows REST API: CRUD, field-naming errors, the dry run, the run log; admins only."""

from workflow_support import template_named

from designer import workflows
from designer.extensions import db
from designer.records.models import Contact


def definition(**changes):
    body = {
        "name": "Welcome new contacts",
        "module": "contact",
        "trigger": {"type": "created"},
        "conditions": {
            "match": "all",
            "items": [{"field": "contact.language", "op": "eq", "value": "nl"}],
        },
        "actions": [{"type": "send_email", "template_id": template_named("Welcome").id}],
        "repeat": {"mode": "once"},
    }
    body.update(changes)
    return body


def test_create_read_change_delete(admin_api):
    made = admin_api.post("/api/v1/workflows", json=definition())
    assert made.status_code == 201, made.text
    workflow = made.json
    assert workflow["enabled"] is False  # switched on only when asked
    assert workflow["actions"][0]["sender"] == "admin"
    assert workflow["actions"][0]["locale"] == "recipient"
    assert admin_api.get(f"/api/v1/workflows/{workflow['id']}").json["name"] == (
        "Welcome new contacts"
    )
    assert [w["id"] for w in admin_api.get("/api/v1/workflows").json["workflows"]] == [
        workflow["id"]
    ]
    changed = admin_api.put(
        f"/api/v1/workflows/{workflow['id']}", json=definition(enabled=True, name="Live")
    )
    assert changed.status_code == 200 and changed.json["enabled"] is True
    assert admin_api.delete(f"/api/v1/workflows/{workflow['id']}").status_code == 204
    missing = admin_api.get(f"/api/v1/workflows/{workflow['id']}")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_a_bad_definition_is_422_naming_the_field(admin_api):
    bad = admin_api.post(
        "/api/v1/workflows",
        json=definition(actions=[{"template_id": template_named("Welcome").id, "to": "everyone"}]),
    )
    assert bad.status_code == 422
    assert bad.json["error"]["details"]["fields"] == {
        "actions[0].to": ["must be one of record, related_contacts, owner, fixed"]
    }
    missing = admin_api.post("/api/v1/workflows", json={"module": "contact"})
    assert missing.status_code == 422
    assert set(missing.json["error"]["details"]["fields"]) == {"name", "actions"}


def test_dry_run_and_run_log(admin_api, demo):
    made = admin_api.post("/api/v1/workflows", json=definition(enabled=True))
    workflow_id = made.json["id"]
    dutch = db.session.scalar(db.select(Contact).where(Contact.language == "nl"))
    tested = admin_api.post(f"/api/v1/workflows/{workflow_id}/test", json={"record_id": dutch.id})
    assert tested.status_code == 200
    [message] = tested.json["actions"][0]["messages"]
    assert message["to"] == dutch.email and message["locale"] == "nl"
    assert message["from"] == "Ada Admin <admin@example.com>"
    assert (
        admin_api.post(
            f"/api/v1/workflows/{workflow_id}/test", json={"record_id": 999999}
        ).status_code
        == 404
    )

    workflows.save_record(
        "contact",
        {"id": "API-1", "first_name": "Kees", "email": "kees@example.nl", "language": "nl"},
    )
    event = db.session.scalars(db.select(workflows.Event)).one()
    workflows.process_event(event.id)
    [run] = admin_api.get(f"/api/v1/workflows/{workflow_id}/runs").json["runs"]
    assert run["outcome"] == "sent" and run["event"] == "contact.created"
    assert run["conditions"][0]["result"] is True and len(run["message_ids"]) == 1


def test_records_upserted_through_the_api_raise_events(admin_api):
    saved = admin_api.put(
        "/api/v1/records/contact",
        json={"id": "API-2", "first_name": "Lot", "email": "lot@example.nl"},
    )
    assert saved.status_code == 201
    [event] = db.session.scalars(db.select(workflows.Event)).all()
    assert event.type == "contact.created" and event.source == "app"


def test_workflows_api_is_for_administrators(marketer_api, admin_api):
    assert marketer_api.get("/api/v1/workflows").status_code == 403
    assert marketer_api.post("/api/v1/workflows", json=definition()).status_code == 403

"""Each REST API resource: its happy path, and bad input answered in our error shape."""

from datetime import timedelta

import pytest
from support import click_paths

from designer import mail, tracking
from designer.clock import utcnow
from designer.extensions import db
from designer.records import Contact, Document, Organisation
from designer.templating import Template

HUMAN_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"
MJML = ("<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ contact.first_name }}"
        "</mj-text></mj-column></mj-section></mj-body></mjml>")
DUTCH = [{"field": "contact.language", "op": "eq", "value": "nl"}]


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


def template_named(name):
    return db.session.scalar(db.select(Template).where(Template.name == name))


def first(model, *where):
    return db.session.scalar(db.select(model).where(*where).order_by(model.id).limit(1))


@pytest.fixture
def welcome_id(demo):
    return template_named("Welcome").id


# Templates


def test_list_templates_filters_by_kind(admin_api):
    body = admin_api.get("/api/v1/templates?kind=pdf").get_json()
    assert body["templates"] and {t["kind"] for t in body["templates"]} == {"pdf"}
    error = error_of(admin_api.get("/api/v1/templates?kind=fax"), 422)
    assert error["code"] == "invalid_request" and "kind" in error["details"]["fields"]
    assert error["message"].startswith("kind: Must be one of")


def test_create_and_get_a_template(admin_api):
    created = admin_api.post("/api/v1/templates", json={
        "name": "API welcome", "source": MJML, "subject": "Hi {{ contact.first_name }}"})
    assert created.status_code == 201
    body = created.get_json()
    assert body["version"] == 1 and body["kind"] == "email" and body["source_type"] == "mjml"
    fetched = admin_api.get(f"/api/v1/templates/{body['id']}").get_json()
    assert fetched["source"] == MJML and fetched["subject"] == "Hi {{ contact.first_name }}"
    assert fetched["updated_at"].endswith("Z")


def test_create_template_names_the_missing_field_and_the_bad_line(admin_api):
    error = error_of(admin_api.post("/api/v1/templates", json={"source": MJML}), 422)
    assert error["details"]["fields"] == {"name": ["Missing data for required field."]}
    assert error["message"] == "name: Missing data for required field."
    bad = "<mjml>\n<mj-body>\n<mj-section>\n</mj-body>\n</mjml>"
    error = error_of(admin_api.post("/api/v1/templates", json={"name": "Bad", "source": bad}), 422)
    assert error["code"] == "template_invalid" and error["details"]["line"]
    error = error_of(admin_api.post("/api/v1/templates", json={
        "name": "x\x00", "source": MJML, "language": "klingon"}), 422)
    assert set(error["details"]["fields"]) == {"name", "language"}
    assert error_of(admin_api.post("/api/v1/templates", data="{not json",
                                   content_type="application/json"), 400)


def test_new_version_keeps_the_old_one_and_warns_about_unknown_fields(admin_api, welcome_id):
    response = admin_api.post(f"/api/v1/templates/{welcome_id}/versions", json={
        "source": MJML.replace("first_name", "frist_name"), "subject": "Welcome"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["number"] == 2 and body["subject"] == "Welcome"
    [warning] = body["warnings"]
    assert "contact.frist_name" in warning and "contact.first_name" in warning
    assert len(template_named("Welcome").versions) == 2
    error = error_of(admin_api.post(f"/api/v1/templates/{welcome_id}/versions",
                                    json={"source": "<mjml><mj-body>"}), 422)
    assert error["code"] == "template_invalid"
    assert len(template_named("Welcome").versions) == 2
    assert error_of(admin_api.post("/api/v1/templates/999999/versions", json={"source": MJML}),
                    404)["message"] == "no template with id 999999"


def test_preview_merges_for_a_record(admin_api, welcome_id):
    contact = first(Contact, Contact.first_name != "")
    response = admin_api.get(f"/api/v1/templates/{welcome_id}/preview?record_id={contact.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert contact.first_name in body["html"] and body["subject"] and body["text"]
    assert body["locale"] == (contact.language or contact.organisation.language)
    assert error_of(admin_api.get(f"/api/v1/templates/{welcome_id}/preview?record_id=999999"),
                    404)["code"] == "not_found"
    error = error_of(admin_api.get(f"/api/v1/templates/{welcome_id}/preview"), 422)
    assert "record_id" in error["message"]
    invoice_pdf = template_named("Invoice (PDF)") or first(Template, Template.kind == "pdf")
    error = error_of(admin_api.get(f"/api/v1/templates/{invoice_pdf.id}/preview?record_id=1"), 422)
    assert error["code"] == "not_an_email_template"


# Records


def test_upsert_creates_then_updates_by_crm_id(admin_api):
    body = {"id": "crm-42", "name": "Acme B.V.", "city": "Utrecht", "language": "nl"}
    created = admin_api.put("/api/v1/records/organisation", json=body)
    assert created.status_code == 201 and created.get_json()["created"] is True
    record_id = created.get_json()["id"]
    updated = admin_api.put("/api/v1/records/organisation", json={"id": "crm-42", "city": "Delft"})
    assert updated.status_code == 200
    before = created.get_json()["data"]["organisation"]
    assert updated.get_json() == {**created.get_json(), "created": False,
                                  "data": {"organisation": {**before, "city": "Delft"}}}
    organisation = db.session.get(Organisation, record_id)
    assert (organisation.external_id, organisation.name, organisation.city) == (
        "crm-42", "Acme B.V.", "Delft")


def test_upsert_names_the_bad_field_and_writes_nothing(admin_api):
    error = error_of(admin_api.put("/api/v1/records/contact", json={
        "id": "crm-c1", "first_name": "Ann", "birthday": "yesterday"}), 422)
    assert error["code"] == "invalid_record"
    assert list(error["details"]["fields"]) == ["birthday"] and "birthday" in error["message"]
    assert first(Contact, Contact.external_id == "crm-c1") is None
    error = error_of(admin_api.put("/api/v1/records/contact", json={"first_name": "Ann"}), 422)
    assert error["details"]["fields"] == {"id": ["Missing data for required field."]}
    assert error_of(admin_api.put("/api/v1/records/product", json={"id": "p"}), 404)


def test_get_record_with_its_merge_data(admin_api):
    invoice = first(Document, Document.kind == "invoice")
    body = admin_api.get(f"/api/v1/records/invoice/{invoice.id}").get_json()
    assert body["module"] == "invoice" and body["id"] == invoice.id
    data = body["data"]["invoice"]
    assert data["number"] == invoice.number and data["issue_date"] == invoice.issue_date.isoformat()
    assert isinstance(data["total"], str) and data["lines"]
    assert error_of(admin_api.get(f"/api/v1/records/quote/{invoice.id}"), 404)["code"] == \
        "not_found"
    assert error_of(admin_api.get("/api/v1/records/planet/1"), 404)


# Campaigns


def test_campaign_lifecycle(admin_api, welcome_id):
    created = admin_api.post("/api/v1/campaigns", json={
        "name": "Spring", "template_id": welcome_id, "filters": DUTCH})
    assert created.status_code == 201
    campaign = created.get_json()
    assert campaign["state"] == "draft" and campaign["started_at"] is None
    base = f"/api/v1/campaigns/{campaign['id']}"
    started = admin_api.post(f"{base}/start").get_json()
    assert started["state"] == "sending" and started["total"] > 0
    assert started["queued"] == started["total"]
    assert admin_api.post(f"{base}/pause").get_json()["state"] == "paused"
    assert admin_api.post(f"{base}/resume").get_json()["state"] == "sending"
    cancelled = admin_api.post(f"{base}/cancel").get_json()
    assert cancelled["state"] == "cancelled" and cancelled["cancelled"] == started["total"]
    error = error_of(admin_api.post(f"{base}/start"), 409)
    assert error == {"code": "invalid_state", "details": {},
                     "message": "a cancelled campaign cannot be started"}
    assert admin_api.get(f"{base}/progress").get_json()["percent"] == 100.0
    assert admin_api.get(base).get_json()["state"] == "cancelled"
    listed = admin_api.get("/api/v1/campaigns").get_json()["campaigns"]
    assert [c["id"] for c in listed] == [campaign["id"]]
    assert error_of(admin_api.post("/api/v1/campaigns/999999/start"), 404)["code"] == "not_found"


def test_campaign_from_a_saved_audience(admin_api, welcome_id):
    from designer import campaigns

    segment = campaigns.create_segment("Dutch", DUTCH)
    response = admin_api.post("/api/v1/campaigns", json={
        "name": "Saved", "template_id": welcome_id, "segment_id": segment.id, "tracking": False})
    assert response.status_code == 201
    assert response.get_json()["segment_id"] == segment.id
    assert response.get_json()["tracking"] is False


def test_campaign_audience_by_owner_id(admin_api, welcome_id):
    owner_id = first(Organisation, Organisation.owner_id.is_not(None)).owner_id
    for op, value in (("eq", str(owner_id)), ("in", f"{owner_id}, 999999")):
        response = admin_api.post("/api/v1/campaigns", json={
            "name": op, "template_id": welcome_id,
            "filters": [{"field": "organisation.owner_id", "op": op, "value": value}]})
        assert response.status_code == 201, response.get_json()
        started = admin_api.post(f"/api/v1/campaigns/{response.get_json()['id']}/start")
        assert started.get_json()["total"] > 0


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "X", "template_id": 999999}, "template_id"),
    ({"name": "X", "template_id": "pdf"}, "template_id"),
    ({"name": "X", "template_id": "welcome", "filters": [{"field": "contact.password",
                                                           "value": "x"}]}, "filters"),
    ({"name": "X", "template_id": "welcome",
      "filters": [{"field": "organisation.owner_id", "value": "nobody"}]}, "filters"),
    ({"name": "X", "template_id": "welcome",
      "filters": [{"field": "organisation.owner_id", "op": "contains", "value": "1"}]}, "filters"),
    ({"name": "X", "template_id": "welcome", "segment_id": 999999}, "segment_id"),
    ({"name": "X", "template_id": "welcome", "segment_id": 1, "filters": []}, "filters"),
    ({"template_id": "welcome"}, "name"),
    ({"name": "  ", "template_id": "welcome"}, "name"),
])
def test_campaign_bad_input_names_the_field(admin_api, welcome_id, body, field):
    pdf = first(Template, Template.kind == "pdf")
    ids = {"welcome": welcome_id, "pdf": pdf.id}
    body = {**body, "template_id": ids.get(body["template_id"], body["template_id"])} \
        if "template_id" in body else body
    error = error_of(admin_api.post("/api/v1/campaigns", json=body), 422)
    assert field in error["details"]["fields"] and error["message"].startswith(field)


# Messages


@pytest.fixture
def sent_message(app, demo, welcome_id):
    from designer.records import User

    contact = first(Contact, Contact.email != "")
    sender = first(User, User.email == "admin@example.com")
    message = mail.queue_message(template_named("Welcome"), module="contact", record=contact,
                                 sender_user=sender, enqueue=False)
    message.state, message.sent_at = "sent", utcnow() - timedelta(hours=1)
    message.smtp_reply = "250 2.0.0 OK queued"
    db.session.commit()
    return message


def test_message_and_its_outcomes(app, client, admin_api, sent_message):
    path = click_paths(sent_message)[0]  # the link to {{ company.website }}, merged
    assert client.get(path, headers={"User-Agent": HUMAN_AGENT}).status_code == 302
    body = admin_api.get(f"/api/v1/messages/{sent_message.id}").get_json()
    assert body["state"] == "sent" and body["recipient"] == sent_message.recipient_email
    assert body["from"] == sent_message.from_address and body["click_count"] == 1
    assert body["sent_copy"] is None
    outcomes = admin_api.get(f"/api/v1/messages/{sent_message.id}/outcomes").get_json()
    assert outcomes["smtp_reply"] == "250 2.0.0 OK queued" and outcomes["clicks"] == 1
    [event] = outcomes["events"]
    assert event["kind"] == "click"
    assert event["url"] == sent_message.template_version.links[0]["url"]  # as written
    assert event["classification"] == "human" and event["at"].endswith("Z")
    assert tracking.timeline(sent_message.id)
    assert error_of(admin_api.get("/api/v1/messages/999999/outcomes"), 404)["message"] == \
        "no message with id 999999"


# PDFs


def test_render_a_records_pdf(admin_api):
    invoice = first(Document, Document.kind == "invoice")
    response = admin_api.get(f"/api/v1/pdfs/invoice/{invoice.id}?locale=nl")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    number = invoice.number.rsplit("-", 2)[-2:]
    assert f'filename="Invoice-{"-".join(number)}.pdf"' in response.headers["Content-Disposition"]
    assert response.headers["Content-Language"] == "nl"


def test_pdf_bad_input(admin_api, welcome_id):
    invoice = first(Document, Document.kind == "invoice")
    assert error_of(admin_api.get("/api/v1/pdfs/invoice/999999"), 404)["code"] == "not_found"
    error = error_of(admin_api.get(f"/api/v1/pdfs/invoice/{invoice.id}?template_id={welcome_id}"),
                     404)
    assert "is not a PDF template for invoice" in error["message"]
    error = error_of(admin_api.get(f"/api/v1/pdfs/invoice/{invoice.id}?locale=xx_%00"), 422)
    assert "locale" in error["details"]["fields"]


# Everyone


def test_without_a_token_every_operation_is_401(client, demo):
    for path in ("/api/v1/templates", "/api/v1/records/contact/1", "/api/v1/campaigns",
                 "/api/v1/messages/1", "/api/v1/pdfs/invoice/1"):
        assert error_of(client.get(path), 401)["code"] == "unauthorized"


def test_marketers_use_everything_but_admin_operations(marketer_api, welcome_id):
    assert marketer_api.get(f"/api/v1/templates/{welcome_id}").status_code == 200
    created = marketer_api.post("/api/v1/campaigns", json={
        "name": "Mine", "template_id": welcome_id, "filters": DUTCH})
    assert created.status_code == 201
    error = error_of(marketer_api.put("/api/v1/records/contact", json={"id": "c"}), 403)
    assert error["code"] == "forbidden"

"""Each REST API resource: its happy path, and bad input answered in our error shape; the
pages' own calls with a session and a CSRF token."""

from datetime import timedelta

import pytest
from support import click_paths, csrf_token

from designer import mail, tracking
from designer.clock import utcnow
from designer.extensions import db
from designer.records import Contact, Document, Organisation
from designer.templating import Template

HUMAN_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"
MJML = (
    "<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ contact.first_name }}"
    "</mj-text></mj-column></mj-section></mj-body></mjml>"
)
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
    created = admin_api.post(
        "/api/v1/templates",
        json={"name": "API welcome", "source": MJML, "subject": "Hi {{ contact.first_name }}"},
    )
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
    error = error_of(
        admin_api.post(
            "/api/v1/templates", json={"name": "x\x00", "source": MJML, "language": "klingon"}
        ),
        422,
    )
    assert set(error["details"]["fields"]) == {"name", "language"}
    assert error_of(
        admin_api.post("/api/v1/templates", data="{not json", content_type="application/json"), 400
    )


def test_new_version_keeps_the_old_one_and_warns_about_unknown_fields(admin_api, welcome_id):
    response = admin_api.post(
        f"/api/v1/templates/{welcome_id}/versions",
        json={"source": MJML.replace("first_name", "frist_name"), "subject": "Welcome"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["number"] == 2 and body["subject"] == "Welcome"
    [warning] = body["warnings"]
    assert "contact.frist_name" in warning and "contact.first_name" in warning
    assert len(template_named("Welcome").versions) == 2
    error = error_of(
        admin_api.post(
            f"/api/v1/templates/{welcome_id}/versions", json={"source": "<mjml><mj-body>"}
        ),
        422,
    )
    assert error["code"] == "template_invalid"
    assert len(template_named("Welcome").versions) == 2
    assert (
        error_of(admin_api.post("/api/v1/templates/999999/versions", json={"source": MJML}), 404)[
            "message"
        ]
        == "no template with id 999999"
    )


def test_preview_merges_for_a_record(admin_api, welcome_id):
    contact = first(Contact, Contact.first_name != "")
    response = admin_api.get(f"/api/v1/templates/{welcome_id}/preview?record_id={contact.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert contact.first_name in body["html"] and body["subject"] and body["text"]
    assert body["locale"] == (contact.language or contact.organisation.language)
    assert (
        error_of(admin_api.get(f"/api/v1/templates/{welcome_id}/preview?record_id=999999"), 404)[
            "code"
        ]
        == "not_found"
    )
    error = error_of(admin_api.get(f"/api/v1/templates/{welcome_id}/preview"), 422)
    assert "record_id" in error["message"]
    invoice_pdf = template_named("Invoice (PDF)") or first(Template, Template.kind == "pdf")
    error = error_of(admin_api.get(f"/api/v1/templates/{invoice_pdf.id}/preview?record_id=1"), 422)
    assert error["code"] == "not_an_email_template"


def test_draft_preview_merges_unsaved_source_and_names_the_bad_line(admin_api, welcome_id):
    contact = first(Contact, Contact.email != "")
    url = f"/api/v1/templates/{welcome_id}/preview"
    body = admin_api.post(
        url,
        json={"record_id": contact.id, "source": MJML, "subject": "Hi {{ contact.first_name }}"},
    ).get_json()
    assert body["subject"] == f"Hi {contact.first_name}"
    assert f"Hello {contact.first_name}" in " ".join(body["html"].split())
    assert "text" not in body
    saved = admin_api.post(url, json={"record_id": contact.id}).get_json()
    assert contact.first_name in saved["html"]
    error = error_of(
        admin_api.post(url, json={"record_id": contact.id, "source": "<mjml>\n{{ oops"}), 422
    )
    assert error["code"] == "template_invalid" and error["details"]["line"] == 2
    assert error_of(admin_api.post(url, json={"source": MJML}), 422)["details"]["fields"] == {
        "record_id": ["Missing data for required field."]
    }
    pdf = first(Template, Template.kind == "pdf")
    assert (
        error_of(admin_api.post(f"/api/v1/templates/{pdf.id}/preview", json={"record_id": 1}), 422)[
            "code"
        ]
        == "not_an_email_template"
    )
    assert (
        error_of(
            admin_api.post(f"/api/v1/templates/{welcome_id}/pdf-preview", json={"record_id": 1}),
            422,
        )["code"]
        == "not_a_pdf_template"
    )


def test_a_save_on_an_older_version_is_a_conflict(admin_api, welcome_id):
    url = f"/api/v1/templates/{welcome_id}/versions"
    current = admin_api.get(f"/api/v1/templates/{welcome_id}").get_json()["version"]
    saved = admin_api.post(url, json={"source": MJML, "base_version": current})
    assert saved.status_code == 201 and saved.get_json()["number"] == current + 1
    error = error_of(admin_api.post(url, json={"source": MJML, "base_version": current}), 409)
    assert error["code"] == "version_conflict" and error["details"] == {"version": current + 1}


def test_attachments_of_a_template(admin_api):
    reminder, invoice_pdf = template_named("Invoice reminder"), template_named("Invoice (PDF)")
    url = f"/api/v1/templates/{reminder.id}/attachments"
    chosen = admin_api.put(url, json={"pdf_template_ids": [invoice_pdf.id]}).get_json()
    assert chosen["pdf_templates"] == [{"id": invoice_pdf.id, "name": "Invoice (PDF)"}]
    assert admin_api.get(url).get_json() == chosen
    error = error_of(admin_api.put(url, json={"pdf_template_ids": [reminder.id]}), 422)
    assert "pdf_template_ids" in error["details"]["fields"]


# Merge fields


def test_merge_fields_of_a_module(admin_api):
    fields = admin_api.get("/api/v1/fields/quote").get_json()["fields"]
    by_name = {field["name"]: field for field in fields}
    assert by_name["quote.total"]["type"] == "money" and by_name["line.name"]["label"]
    assert error_of(admin_api.get("/api/v1/fields/pony"), 404)["code"] == "not_found"


# Records


def test_upsert_creates_then_updates_by_crm_id(admin_api):
    body = {"id": "crm-42", "name": "Acme B.V.", "city": "Utrecht", "language": "nl"}
    created = admin_api.put("/api/v1/records/organisation", json=body)
    assert created.status_code == 201 and created.get_json()["created"] is True
    record_id = created.get_json()["id"]
    updated = admin_api.put("/api/v1/records/organisation", json={"id": "crm-42", "city": "Delft"})
    assert updated.status_code == 200
    before = created.get_json()["data"]["organisation"]
    assert updated.get_json() == {
        **created.get_json(),
        "created": False,
        "data": {"organisation": {**before, "city": "Delft"}},
    }
    organisation = db.session.get(Organisation, record_id)
    assert (organisation.external_id, organisation.name, organisation.city) == (
        "crm-42",
        "Acme B.V.",
        "Delft",
    )


def test_upsert_names_the_bad_field_and_writes_nothing(admin_api):
    error = error_of(
        admin_api.put(
            "/api/v1/records/contact",
            json={"id": "crm-c1", "first_name": "Ann", "birthday": "yesterday"},
        ),
        422,
    )
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
    assert (
        error_of(admin_api.get(f"/api/v1/records/quote/{invoice.id}"), 404)["code"] == "not_found"
    )
    assert error_of(admin_api.get("/api/v1/records/planet/1"), 404)


# Campaigns


def test_campaign_lifecycle(admin_api, welcome_id):
    created = admin_api.post(
        "/api/v1/campaigns", json={"name": "Spring", "template_id": welcome_id, "filters": DUTCH}
    )
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
    assert error == {
        "code": "invalid_state",
        "details": {},
        "message": "a cancelled campaign cannot be started",
    }
    assert admin_api.get(f"{base}/progress").get_json()["percent"] == 100.0
    assert admin_api.get(base).get_json()["state"] == "cancelled"
    listed = admin_api.get("/api/v1/campaigns").get_json()["campaigns"]
    assert [c["id"] for c in listed] == [campaign["id"]]
    assert error_of(admin_api.post("/api/v1/campaigns/999999/start"), 404)["code"] == "not_found"


def test_campaign_from_a_saved_audience(admin_api, welcome_id):
    from designer import campaigns

    segment = campaigns.create_segment("Dutch", DUTCH)
    response = admin_api.post(
        "/api/v1/campaigns",
        json={
            "name": "Saved",
            "template_id": welcome_id,
            "segment_id": segment.id,
            "tracking": False,
        },
    )
    assert response.status_code == 201
    assert response.get_json()["segment_id"] == segment.id
    assert response.get_json()["tracking"] is False


def test_campaign_audience_by_owner_id(admin_api, welcome_id):
    owner_id = first(Organisation, Organisation.owner_id.is_not(None)).owner_id
    for op, value in (("eq", str(owner_id)), ("in", f"{owner_id}, 999999")):
        response = admin_api.post(
            "/api/v1/campaigns",
            json={
                "name": op,
                "template_id": welcome_id,
                "filters": [{"field": "organisation.owner_id", "op": op, "value": value}],
            },
        )
        assert response.status_code == 201, response.get_json()
        started = admin_api.post(f"/api/v1/campaigns/{response.get_json()['id']}/start")
        assert started.get_json()["total"] > 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "template_id": 999999}, "template_id"),
        ({"name": "X", "template_id": "pdf"}, "template_id"),
        (
            {
                "name": "X",
                "template_id": "welcome",
                "filters": [{"field": "contact.password", "value": "x"}],
            },
            "filters",
        ),
        (
            {
                "name": "X",
                "template_id": "welcome",
                "filters": [{"field": "organisation.owner_id", "value": "nobody"}],
            },
            "filters",
        ),
        (
            {
                "name": "X",
                "template_id": "welcome",
                "filters": [{"field": "organisation.owner_id", "op": "contains", "value": "1"}],
            },
            "filters",
        ),
        ({"name": "X", "template_id": "welcome", "segment_id": 999999}, "segment_id"),
        ({"name": "X", "template_id": "welcome", "segment_id": 1, "filters": []}, "filters"),
        ({"template_id": "welcome"}, "name"),
        ({"name": "  ", "template_id": "welcome"}, "name"),
    ],
)
def test_campaign_bad_input_names_the_field(admin_api, welcome_id, body, field):
    pdf = first(Template, Template.kind == "pdf")
    ids = {"welcome": welcome_id, "pdf": pdf.id}
    body = (
        {**body, "template_id": ids.get(body["template_id"], body["template_id"])}
        if "template_id" in body
        else body
    )
    error = error_of(admin_api.post("/api/v1/campaigns", json=body), 422)
    assert field in error["details"]["fields"] and error["message"].startswith(field)


def test_audiences_count_filters_and_list_saved_ones_in_pages(admin_api):
    from designer import campaigns

    for name in ("Dutch", "All", "Berlin"):
        campaigns.create_segment(name, DUTCH if name == "Dutch" else [])
    count = admin_api.post("/api/v1/segments/count", json={"filters": DUTCH}).get_json()["count"]
    everyone = admin_api.post("/api/v1/segments/count", json={"filters": []}).get_json()["count"]
    assert 0 < count < everyone
    first_page = admin_api.get("/api/v1/segments?per_page=2").get_json()
    assert [s["name"] for s in first_page["segments"]] == ["All", "Berlin"]
    assert (first_page["page"], first_page["per_page"], first_page["total"]) == (1, 2, 3)
    last = admin_api.get("/api/v1/segments?per_page=2&page=2").get_json()["segments"]
    assert last == [{"id": last[0]["id"], "name": "Dutch", "filters": DUTCH}]
    assert admin_api.get("/api/v1/segments?page=9").get_json()["segments"] == []
    error = error_of(admin_api.get("/api/v1/segments?page=0"), 422)
    assert list(error["details"]["fields"]) == ["page"]
    error = error_of(
        admin_api.post(
            "/api/v1/segments/count",
            json={"filters": [{"field": "contact.tags", "op": "has_tag", "value": "a,b"}]},
        ),
        422,
    )
    assert error["code"] == "invalid_filter" and "filters" in error["details"]["fields"]


def test_schedule_a_campaign_and_read_its_report(admin_api, welcome_id):
    campaign = admin_api.post(
        "/api/v1/campaigns", json={"name": "Later", "template_id": welcome_id, "filters": DUTCH}
    ).get_json()
    base = f"/api/v1/campaigns/{campaign['id']}"
    when = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    scheduled = admin_api.post(
        f"{base}/schedule", json={"scheduled_at": when.isoformat() + "+02:00"}
    )
    assert scheduled.status_code == 200 and scheduled.get_json()["state"] == "scheduled"
    stored = admin_api.get(base).get_json()["scheduled_at"]
    assert stored == (when - timedelta(hours=2)).isoformat() + "Z"
    past = error_of(
        admin_api.post(f"{base}/schedule", json={"scheduled_at": "2001-01-01T00:00"}), 409
    )
    assert "in the past" in past["message"]
    assert error_of(
        admin_api.post(f"{base}/schedule", json={"scheduled_at": "0001-01-01T00:00"}), 422
    )["details"]["fields"]["scheduled_at"]
    report = admin_api.get(f"{base}/report").get_json()
    assert report["campaign"] == campaign["id"] and report["figures"]["sent"] == 0
    assert report["links"] and report["activity"] == []


# Messages


@pytest.fixture
def sent_message(app, demo, welcome_id):
    from designer.records import User

    contact = first(Contact, Contact.email != "")
    sender = first(User, User.email == "admin@example.com")
    message = mail.queue_message(
        template_named("Welcome"),
        module="contact",
        record=contact,
        sender_user=sender,
        enqueue=False,
    )
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
    assert (
        error_of(admin_api.get("/api/v1/messages/999999/outcomes"), 404)["message"]
        == "no message with id 999999"
    )


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
    error = error_of(
        admin_api.get(f"/api/v1/pdfs/invoice/{invoice.id}?template_id={welcome_id}"), 404
    )
    assert "is not a PDF template for invoice" in error["message"]
    error = error_of(admin_api.get(f"/api/v1/pdfs/invoice/{invoice.id}?locale=xx_%00"), 422)
    assert "locale" in error["details"]["fields"]


# PDF exports


def test_exports_are_started_and_followed_by_their_owner(admin_api, marketer_api):
    invoices = [
        d.id
        for d in db.session.scalars(
            db.select(Document).where(Document.kind == "invoice").order_by(Document.id).limit(2)
        )
    ]
    started = admin_api.post("/api/v1/exports", json={"module": "invoice", "record_ids": invoices})
    assert started.status_code == 202
    export = started.get_json()
    assert export["state"] == "queued" and export["total"] == 2 and not export["download"]
    assert admin_api.get(f"/api/v1/exports/{export['id']}").get_json()["id"] == export["id"]
    assert error_of(marketer_api.get(f"/api/v1/exports/{export['id']}"), 404)
    error = error_of(
        admin_api.post(
            "/api/v1/exports", json={"module": "invoice", "record_ids": [1], "packing": "tar"}
        ),
        422,
    )
    assert list(error["details"]["fields"]) == ["packing"]


# Sending


def test_sending_settings_are_for_admins_only(admin_api, marketer_api):
    policy = admin_api.get("/api/v1/sending/policy").get_json()
    assert set(policy) == {"central_from", "envelope_from"}
    for path in ("/api/v1/sending/policy", "/api/v1/sending/servers", "/api/v1/sending/servers/1"):
        assert error_of(marketer_api.get(path), 403)["code"] == "forbidden", path
    error_of(marketer_api.put("/api/v1/sending/policy", json={"central_from": "x@y.example"}), 403)
    error = error_of(
        admin_api.post(
            "/api/v1/sending/servers", json={"name": "Odd", "host": "smtp..example.com", "port": 25}
        ),
        422,
    )
    assert list(error["details"]["fields"]) == ["host"]
    error = error_of(
        admin_api.post(
            "/api/v1/sending/servers",
            json={"name": "Mine", "host": "smtp.example.com", "port": 25, "user_id": 999999},
        ),
        422,
    )
    assert list(error["details"]["fields"]) == ["user_id"]
    assert error_of(admin_api.post("/api/v1/sending/servers/999999/test"), 404)


# Everyone


def test_without_a_token_every_operation_is_401(client, demo):
    for path in (
        "/api/v1/templates",
        "/api/v1/records/contact/1",
        "/api/v1/campaigns",
        "/api/v1/messages/1",
        "/api/v1/pdfs/invoice/1",
        "/api/v1/fields/contact",
        "/api/v1/images",
        "/api/v1/blocks",
        "/api/v1/segments",
        "/api/v1/exports/1",
        "/api/v1/sending/policy",
    ):
        assert error_of(client.get(path), 401)["code"] == "unauthorized"
    assert error_of(client.post("/api/v1/segments/count", json={"filters": []}), 401)


def test_pages_call_the_api_with_their_session_and_csrf_token(admin_client, welcome_id):
    token = csrf_token(admin_client, "/campaigns/new")
    url = f"/api/v1/templates/{welcome_id}/versions"
    forged = admin_client.post(url, json={"source": MJML})
    assert error_of(forged, 400)["code"] == "csrf_failed"
    assert (
        admin_client.post(url, json={"source": MJML}, headers={"X-CSRFToken": token}).status_code
        == 201
    )
    assert error_of(admin_client.post("/api/v1/segments/count", json={"filters": []}), 400)
    assert (
        admin_client.post(
            "/api/v1/segments/count", json={"filters": []}, headers={"X-CSRFToken": token}
        ).status_code
        == 200
    )
    assert admin_client.get("/api/v1/fields/contact").status_code == 200  # reading needs none


def test_the_old_page_json_routes_are_gone(admin_client, welcome_id):
    for path in (
        "/api/templates",
        f"/api/templates/{welcome_id}",
        "/api/fields/contact",
        "/api/records/contact/1",
        "/api/messages/1",
        "/api/exports/1",
        "/api/campaigns/1/progress",
        "/api/segments",
        "/api/settings/sending",
        "/builder/images",
        "/builder/blocks",
        f"/templates/{welcome_id}/blocks",
    ):
        assert admin_client.get(path).status_code == 404, path


def test_marketers_use_everything_but_admin_operations(marketer_api, welcome_id):
    assert marketer_api.get(f"/api/v1/templates/{welcome_id}").status_code == 200
    created = marketer_api.post(
        "/api/v1/campaigns", json={"name": "Mine", "template_id": welcome_id, "filters": DUTCH}
    )
    assert created.status_code == 201
    error = error_of(marketer_api.put("/api/v1/records/contact", json={"id": "c"}), 403)
    assert error["code"] == "forbidden"
    assert marketer_api.post("/api/v1/segments/count", json={"filters": DUTCH}).status_code == 200
    assert marketer_api.get("/api/v1/fields/contact").status_code == 200

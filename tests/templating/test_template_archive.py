"""Archiving templates: out of the library and the pickers, kept with their history, and
refused while a campaign or a switched-on workflow still sends them."""

from support import csrf_token, log_in

from designer import campaigns, templating, workflows
from designer.extensions import db
from designer.mail.compose import templates_for
from designer.records import User
from designer.templating import Template
from designer.templating.attachments import attachable


def named(name):
    return db.session.scalar(db.select(Template).where(Template.name == name))


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/templates"), **data})


def test_archive_hides_the_template_everywhere_and_restore_brings_it_back(admin_client):
    welcome = named("Welcome")
    versions = len(welcome.versions)
    answer = post(admin_client, f"/templates/{welcome.id}/archive")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/templates")
    assert welcome.archived_at is not None and len(welcome.versions) == versions
    assert welcome not in templating.list_templates()
    assert welcome not in templating.list_templates(kind="email", module="contact")
    assert welcome not in [t for t, _ in templates_for("contact")]
    library = admin_client.get("/templates").text
    assert ">Welcome</strong>" not in library
    assert "Archived “Welcome”" in library  # the flash names it
    archived = admin_client.get("/templates?archived=1").text
    assert ">Welcome</strong>" in archived and "Restore Welcome" in archived
    assert "<strong>Monthly newsletter</strong>" not in archived
    picker = admin_client.get("/campaigns/new").text.split('name="template_id"')[1]
    assert f'<option value="{welcome.id}">' not in picker.split("</select>")[0]
    editor = admin_client.get(f"/templates/{welcome.id}").text  # still opens, says so
    assert "Archived." in editor and "Restore “Welcome”" in editor

    answer = post(admin_client, f"/templates/{welcome.id}/unarchive")
    assert answer.status_code == 302
    assert welcome.archived_at is None and welcome in templating.list_templates()
    assert ">Welcome</strong>" in admin_client.get("/templates").text


def test_archiving_a_variant_archives_its_family(admin_client):
    welcome = named("Welcome")
    dutch = templating.create_variant(welcome, "nl")
    assert post(admin_client, f"/templates/{dutch.id}/archive").status_code == 302
    assert welcome.archived_at is not None and dutch.archived_at is not None
    post(admin_client, f"/templates/{welcome.id}/unarchive")
    assert welcome.archived_at is None and dutch.archived_at is None


def test_archived_pdf_leaves_the_attachment_and_export_pickers(admin_client):
    invoice_pdf = named("Invoice (PDF)")
    reminder = named("Invoice reminder")
    assert invoice_pdf in attachable(reminder)
    assert post(admin_client, f"/templates/{invoice_pdf.id}/archive").status_code == 302
    assert invoice_pdf not in attachable(reminder)
    export_page = admin_client.get("/exports/new?module=invoice").text
    assert f'<option value="{invoice_pdf.id}">' not in export_page
    assert f'<option value="{named("Sales order (PDF)").id}">' in export_page


def test_a_template_a_scheduled_campaign_sends_cannot_be_archived(admin_client, demo):
    welcome = named("Welcome")
    segment = campaigns.create_segment("Everyone", [])
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    campaign = campaigns.create_campaign(
        "Spring news", template=welcome, segment=segment, sender=admin
    )
    campaign.state = "scheduled"
    db.session.commit()
    answer = post(admin_client, f"/templates/{welcome.id}/archive")
    assert answer.status_code == 302
    assert welcome.archived_at is None
    page = " ".join(admin_client.get("/templates").text.split())
    assert "Not archived: “Welcome” is still used by the scheduled campaign “Spring news”" in page
    campaign.state = "done"
    db.session.commit()
    assert post(admin_client, f"/templates/{welcome.id}/archive").status_code == 302
    assert welcome.archived_at is not None


def test_a_template_a_switched_on_workflow_sends_or_attaches_cannot_be_archived(admin_client):
    welcome, invoice_pdf = named("Welcome"), named("Invoice (PDF)")
    rule = workflows.save_workflow(
        {
            "name": "Welcome new contacts",
            "enabled": True,
            "module": "contact",
            "trigger": {"type": "created"},
            "actions": [{"template_id": welcome.id, "to": "record"}],
        }
    )
    post(admin_client, f"/templates/{welcome.id}/archive")
    assert welcome.archived_at is None
    page = " ".join(admin_client.get("/templates").text.split())
    assert "the switched-on workflow “Welcome new contacts”" in page
    assert workflows.enabled_workflows_using([invoice_pdf.id]) == []
    rule.enabled = False
    db.session.commit()
    post(admin_client, f"/templates/{welcome.id}/archive")
    assert welcome.archived_at is not None


def test_archive_needs_a_login_the_form_token_and_a_real_template(app, demo):
    welcome = named("Welcome")
    anonymous = app.test_client()
    token = {"csrf_token": csrf_token(anonymous)}
    refused = anonymous.post(f"/templates/{welcome.id}/archive", data=token)
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    marketer = log_in(app.test_client(), "marketer@example.com")
    assert marketer.post(f"/templates/{welcome.id}/archive").status_code == 400
    assert welcome.archived_at is None
    assert post(marketer, "/templates/99999/archive").status_code == 404
    assert post(marketer, "/templates/99999/unarchive").status_code == 404
    assert post(marketer, f"/templates/{welcome.id}/archive").status_code == 302
    assert welcome.archived_at is not None


def test_odd_archived_filters_show_the_templates_in_use(admin_client):
    in_use = len(templating.list_templates())
    for value in ("yes", "%00", "1" * 5000, "0"):
        answer = admin_client.get(f"/templates?archived={value}")
        assert answer.status_code == 200
        assert answer.text.count('aria-label="Archive ') == in_use


def test_no_new_campaign_or_workflow_sends_an_archived_template(admin_client, admin_api):
    welcome = named("Welcome")
    post(admin_client, f"/templates/{welcome.id}/archive")
    body = {"name": "Old news", "template_id": welcome.id, "filters": []}
    answer = admin_api.post("/api/v1/campaigns", json=body)
    assert answer.status_code == 422
    assert "'Welcome' is archived: restore it" in answer.get_json()["error"]["message"]
    rule = {
        "name": "Welcome again",
        "module": "contact",
        "actions": [{"template_id": welcome.id}],
    }
    refused = admin_api.post("/api/v1/workflows", json=rule)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"]["fields"] == {
        "actions[0].template_id": ["'Welcome' is archived: restore it in the library first"]
    }
    post(admin_client, f"/templates/{welcome.id}/unarchive")
    again = admin_api.post("/api/v1/campaigns", json=body)
    assert again.status_code == 201, again.get_json()
    assert admin_api.post("/api/v1/workflows", json=rule).status_code == 201

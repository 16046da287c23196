"""A template's purpose: marketing (the default) or transactional, set in the editor's
settings, shown in the list, carried by the API and bundles; PDF templates have none."""

import pytest
from support import csrf_token, log_in

from designer import templating
from designer.extensions import db
from designer.templating import Template
from designer.templating.bundle import export_bundle, import_bundle

PDF_SOURCE = "<html><body><h1>{{ contact.first_name }}</h1></body></html>"


def set_in_editor(client, template, value, token=True):
    path = f"/templates/{template.id}"
    data = {"purpose": value}
    if token:
        data["csrf_token"] = csrf_token(client, path)
    return client.post(f"{path}/purpose", data=data, follow_redirects=True)


def test_new_templates_are_marketing_and_variants_follow_their_main(app, welcome, people):
    assert welcome.purpose == "marketing" and templating.purpose_of(welcome) == "marketing"
    variant = templating.create_variant(welcome, "nl", user=people.admin)
    templating.set_purpose(variant, "transactional")  # saved on the main template
    db.session.refresh(welcome)
    assert welcome.purpose == "transactional"
    assert templating.purpose_of(variant) == "transactional"
    with pytest.raises(templating.TemplateInvalid, match="marketing or transactional"):
        templating.set_purpose(welcome, "newsletter")
    with pytest.raises(templating.TemplateInvalid):
        templating.create_template("Bad", PDF_SOURCE, source_type="html", purpose="spam")
    assert templating.purpose_of(welcome) == "transactional"


def test_the_editor_s_setting_changes_the_purpose_and_explains_it(ada, welcome):
    page = ada.get(f"/templates/{welcome.id}").get_data(as_text=True)
    assert "Settings" in page and "held back only when the address does not exist" in page
    assert 'value="marketing" checked' in page
    answer = set_in_editor(ada, welcome, "transactional")
    assert answer.status_code == 200
    assert "now sends transactional mail" in answer.get_data(as_text=True)
    assert 'value="transactional" checked' in answer.get_data(as_text=True)
    db.session.refresh(welcome)
    assert welcome.purpose == "transactional"
    listed = ada.get("/templates").get_data(as_text=True)
    assert "badge-transactional" in listed and "Mail for" in listed


def test_a_bad_setting_is_refused_in_words_and_changes_nothing(ada, welcome):
    answer = set_in_editor(ada, welcome, "spam")
    assert "Not saved: a template is for marketing or transactional mail" in answer.get_data(
        as_text=True
    )
    no_token = set_in_editor(ada, welcome, "transactional", token=False)
    assert no_token.status_code == 400
    db.session.refresh(welcome)
    assert welcome.purpose == "marketing"
    assert ada.post("/templates/999999/purpose", data={}).status_code in (400, 404)


def test_a_marketer_sets_it_too(app, demo, client):
    log_in(client, "marketer@example.com")
    template = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    set_in_editor(client, template, "transactional")
    db.session.refresh(template)
    assert template.purpose == "transactional"


def test_pdf_templates_have_no_purpose_setting(ada, people):
    pdf = templating.create_template(
        "Letter", PDF_SOURCE, source_type="html", kind="pdf", user=people.admin
    )
    page = ada.get(f"/templates/{pdf.id}").get_data(as_text=True)
    assert "purpose-heading" not in page
    listed = ada.get("/templates").get_data(as_text=True)
    assert "A PDF is not mail" in listed


def test_the_starter_invoice_reminder_is_transactional_the_newsletter_marketing(demo):
    purposes = dict(db.session.execute(db.select(Template.name, Template.purpose)).all())
    assert purposes["Invoice reminder"] == "transactional"
    assert purposes["Monthly newsletter"] == "marketing"


def test_the_api_and_bundles_carry_the_purpose(admin_api, demo, people):
    created = admin_api.post(
        "/api/v1/templates",
        json={
            "name": "Receipt",
            "source": "<mjml><mj-body><mj-section><mj-column><mj-text>Paid</mj-text>"
            "</mj-column></mj-section></mj-body></mjml>",
            "purpose": "transactional",
        },
    )
    assert created.status_code == 201, created.text
    assert created.get_json()["purpose"] == "transactional"
    bad = admin_api.post(
        "/api/v1/templates", json={"name": "X", "source": "<mjml></mjml>", "purpose": "spam"}
    )
    assert bad.status_code == 422
    receipt = db.session.get(Template, created.get_json()["id"])
    receipt.name = "Receipt (old)"
    db.session.commit()
    [copy] = import_bundle(export_bundle([receipt]), user=people.admin)
    assert copy.purpose == "transactional"

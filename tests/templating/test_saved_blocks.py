"""Saved blocks: sections saved from the visual builder, listed for every template, deleted."""

import pytest
from support import csrf_token, log_in

from designer.extensions import db
from designer.records import User
from designer.templating.models import SavedBlock
from designer.templating.saved_blocks import MAX_MJML

SECTION = """<mj-section background-color="#ffffff">
  <mj-column>
    <mj-text>Hi {{ contact.first_name }}</mj-text>
    <mj-image src="https://example.com/a.png" />
  </mj-column>
</mj-section>"""


def test_a_saved_section_is_listed_as_markup_and_can_be_deleted(ada, ada_csrf):
    assert ada.get("/builder/blocks").json == {"data": []}
    created = ada.post("/builder/blocks", json={"name": "  Greeting  ", "mjml": f"\n{SECTION}\n"},
                       headers=ada_csrf)
    assert created.status_code == 201, created.get_data(as_text=True)
    block = created.json["data"]
    assert block["name"] == "Greeting" and block["mjml"] == SECTION
    assert '<span data-designer-field="{{ contact.first_name }}"></span>' in block["markup"]
    assert '<mj-image src="https://example.com/a.png"></mj-image>' in block["markup"]
    assert ada.get("/builder/blocks").json == {"data": [block]}

    deleted = ada.delete(f"/builder/blocks/{block['id']}", headers=ada_csrf)
    assert deleted.status_code == 204
    assert ada.get("/builder/blocks").json == {"data": []}
    again = ada.delete(f"/builder/blocks/{block['id']}", headers=ada_csrf)
    assert again.status_code == 404 and again.json["error"]["code"] == "not_found"


def test_a_wrapper_can_be_saved_and_any_user_may_save(client, people):
    marketer = User(name="Max Marketer", email="max@example.com", role="marketer", language="en")
    marketer.set_password("secret")
    db.session.add(marketer)
    db.session.commit()
    log_in(client, "max@example.com", "secret")
    headers = {"X-CSRFToken": csrf_token(client, "/templates")}
    wrapper = f'<mj-wrapper padding="4px">{SECTION}</mj-wrapper>'
    response = client.post("/builder/blocks", json={"name": "Boxed", "mjml": wrapper},
                           headers=headers)
    assert response.status_code == 201
    assert db.session.get(SavedBlock, response.json["data"]["id"]).created_by_id == marketer.id


@pytest.mark.parametrize("name, mjml, field, message", [
    ("", SECTION, "name", "give the block a name"),
    ("   ", SECTION, "name", "give the block a name"),
    (None, SECTION, "name", "give the block a name"),
    ("x" * 101, SECTION, "name", "longer than 100 characters"),
    ("Block", "", "mjml", "send the section's MJML"),
    ("Block", 5, "mjml", "send the section's MJML"),
    ("Block", "<mj-text>Hi</mj-text>", "mjml", "exactly one <mj-section> or <mj-wrapper>"),
    ("Block", "<mj-column><mj-text>Hi</mj-text></mj-column>", "mjml", "exactly one"),
    ("Block", SECTION + SECTION, "mjml", "exactly one"),
    ("Block", '<mj-hero background-url="https://example.com/h.jpg" />', "mjml", "exactly one"),
    ("Block", "{% if x %}" + SECTION + "{% endif %}", "mjml", "exactly one"),
    ("Block", "<mj-section><mj-column><!-- c --></mj-column></mj-section>", "mjml",
     "cannot edit this section: it contains a comment"),
    ("Block", SECTION.replace("{{ contact.first_name }}", "{{ contact.first_name "), "mjml",
     "does not compile"),
    ("Block", "<mj-section>" + "<mj-column></mj-column>" * 4000 + "</mj-section>", "mjml",
     f"larger than {MAX_MJML:,} characters"),
])
def test_bad_blocks_are_refused_and_nothing_is_saved(ada, ada_csrf, name, mjml, field, message):
    response = ada.post("/builder/blocks", json={"name": name, "mjml": mjml}, headers=ada_csrf)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "block_invalid" and message in error["message"]
    assert list(error["details"]["fields"]) == [field]
    assert db.session.scalar(db.select(db.func.count(SavedBlock.id))) == 0


def test_bad_requests_and_missing_csrf_tokens_are_refused(ada, ada_csrf):
    assert ada.post("/builder/blocks", data="nope", headers=ada_csrf).status_code == 400
    assert ada.post("/builder/blocks", json=["x"], headers=ada_csrf).status_code == 400
    no_token = ada.post("/builder/blocks", json={"name": "Block", "mjml": SECTION})
    assert no_token.status_code == 400
    saved = ada.post("/builder/blocks", json={"name": "Block", "mjml": SECTION}, headers=ada_csrf)
    assert ada.delete(f"/builder/blocks/{saved.json['data']['id']}").status_code == 400
    assert len(ada.get("/builder/blocks").json["data"]) == 1


def test_saved_blocks_need_a_login(client, people):
    assert client.get("/builder/blocks").status_code in (302, 401)
    assert client.post("/builder/blocks", json={"name": "x", "mjml": SECTION}).status_code in (
        302, 400, 401)
    assert db.session.scalar(db.select(db.func.count(SavedBlock.id))) == 0

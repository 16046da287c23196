"""Saved blocks (``/api/v1/blocks``): sections saved from the visual builder, listed for every
template, deleted."""

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


URL = "/api/v1/blocks"


def listed(client):
    return client.get(URL).json["blocks"]


def test_a_saved_section_is_listed_as_markup_and_can_be_deleted(ada, ada_csrf):
    assert ada.get(URL).json == {"blocks": [], "page": 1, "per_page": 50, "total": 0}
    created = ada.post(
        URL, json={"name": "  Greeting  ", "mjml": f"\n{SECTION}\n"}, headers=ada_csrf
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    block = created.json
    assert block["name"] == "Greeting" and block["mjml"] == SECTION
    assert '<span data-designer-field="{{ contact.first_name }}"></span>' in block["markup"]
    assert '<mj-image src="https://example.com/a.png"></mj-image>' in block["markup"]
    assert listed(ada) == [block]

    deleted = ada.delete(f"{URL}/{block['id']}", headers=ada_csrf)
    assert deleted.status_code == 204
    assert listed(ada) == []
    again = ada.delete(f"{URL}/{block['id']}", headers=ada_csrf)
    assert again.status_code == 404 and again.json["error"]["code"] == "not_found"


def test_a_wrapper_can_be_saved_and_any_user_may_save(client, people):
    marketer = User(name="Max Marketer", email="max@example.com", role="marketer", language="en")
    marketer.set_password("secret")
    db.session.add(marketer)
    db.session.commit()
    log_in(client, "max@example.com", "secret")
    headers = {"X-CSRFToken": csrf_token(client, "/templates")}
    wrapper = f'<mj-wrapper padding="4px">{SECTION}</mj-wrapper>'
    response = client.post(URL, json={"name": "Boxed", "mjml": wrapper}, headers=headers)
    assert response.status_code == 201
    assert db.session.get(SavedBlock, response.json["id"]).created_by_id == marketer.id


@pytest.mark.parametrize(
    "name, mjml, field, message",
    [
        ("", SECTION, "name", "give the block a name"),
        ("   ", SECTION, "name", "give the block a name"),
        ("x" * 101, SECTION, "name", "longer than 100 characters"),
        ("Block", "", "mjml", "send the section's MJML"),
        ("Block", "<mj-text>Hi</mj-text>", "mjml", "exactly one <mj-section> or <mj-wrapper>"),
        ("Block", "<mj-column><mj-text>Hi</mj-text></mj-column>", "mjml", "exactly one"),
        ("Block", SECTION + SECTION, "mjml", "exactly one"),
        ("Block", '<mj-hero background-url="https://example.com/h.jpg" />', "mjml", "exactly one"),
        ("Block", "{% if x %}" + SECTION + "{% endif %}", "mjml", "exactly one"),
        (
            "Block",
            "<mj-section><mj-column><!-- c --></mj-column></mj-section>",
            "mjml",
            "cannot edit this section: it contains a comment",
        ),
        (
            "Block",
            SECTION.replace("{{ contact.first_name }}", "{{ contact.first_name "),
            "mjml",
            "does not compile",
        ),
        (
            "Block",
            "<mj-section>" + "<mj-column></mj-column>" * 4000 + "</mj-section>",
            "mjml",
            f"larger than {MAX_MJML:,} characters",
        ),
    ],
)
def test_bad_blocks_are_refused_and_nothing_is_saved(ada, ada_csrf, name, mjml, field, message):
    response = ada.post(URL, json={"name": name, "mjml": mjml}, headers=ada_csrf)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "block_invalid" and message in error["message"]
    assert list(error["details"]["fields"]) == [field]
    assert db.session.scalar(db.select(db.func.count(SavedBlock.id))) == 0


@pytest.mark.parametrize("name, mjml, field", [(None, SECTION, "name"), ("Block", 5, "mjml")])
def test_blocks_that_are_not_text_are_refused_naming_the_field(ada, ada_csrf, name, mjml, field):
    response = ada.post(URL, json={"name": name, "mjml": mjml}, headers=ada_csrf)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["message"].startswith(f"{field}: ")
    assert list(error["details"]["fields"]) == [field]
    assert db.session.scalar(db.select(db.func.count(SavedBlock.id))) == 0


def test_bad_requests_and_missing_csrf_tokens_are_refused(ada, ada_csrf):
    assert ada.post(URL, data="nope", headers=ada_csrf).status_code == 422
    assert ada.post(URL, json=["x"], headers=ada_csrf).status_code == 422
    no_token = ada.post(URL, json={"name": "Block", "mjml": SECTION})
    assert no_token.status_code == 400 and no_token.json["error"]["code"] == "csrf_failed"
    saved = ada.post(URL, json={"name": "Block", "mjml": SECTION}, headers=ada_csrf)
    assert ada.delete(f"{URL}/{saved.json['id']}").status_code == 400
    assert len(listed(ada)) == 1


def test_saved_blocks_come_in_pages(ada, ada_csrf):
    for number in range(3):
        ada.post(URL, json={"name": f"Block {number}", "mjml": SECTION}, headers=ada_csrf)
    second = ada.get(f"{URL}?page=2&per_page=2").json
    assert [b["name"] for b in second["blocks"]] == ["Block 2"]
    assert (second["page"], second["per_page"], second["total"]) == (2, 2, 3)
    assert ada.get(f"{URL}?per_page=101").status_code == 422


def test_saved_blocks_need_a_login(client, people):
    assert client.get(URL).status_code == 401
    assert client.post(URL, json={"name": "x", "mjml": SECTION}).status_code == 401
    assert db.session.scalar(db.select(db.func.count(SavedBlock.id))) == 0

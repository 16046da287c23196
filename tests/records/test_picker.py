"""The record picker: searching records by part of their name, and the record a form names."""

import pytest
from support import csrf_token, log_in

from designer import templating
from designer.extensions import db
from designer.mail.models import Message
from designer.records import Contact, Document
from designer.records.picker import (
    MAX_RESULTS,
    PickerError,
    choice_of,
    choose_record,
    search_choices,
)
from designer.templating import Template


def contact_named(first, last):
    query = db.select(Contact).where(Contact.first_name == first, Contact.last_name == last)
    return db.session.scalar(query)


def test_every_word_must_match_name_email_or_organisation_in_any_case(people):
    assert [c.id for c in search_choices("contact", "jan")] == [people.jan.id]
    assert [c.id for c in search_choices("contact", "SMITH devries")] == [people.emma.id]
    assert {c.id for c in search_choices("contact", "bakkerij")} == {people.jan.id, people.emma.id}
    assert search_choices("contact", "jan smith") == []
    assert search_choices("contact", "%") == [] and search_choices("contact", "_") == []
    [emma] = search_choices("contact", "emma")
    assert emma.label == "Emma Smith <emma@devries.example>"
    assert emma.detail == "Bakkerij De Vries · EN"
    assert search_choices("contact", emma.label)[0].id == people.emma.id  # its own label


def test_organisations_and_documents_are_found_too(demo):
    [org] = search_choices("organisation", "harrington")
    assert "Harrington" in org.label
    invoice = db.session.scalar(db.select(Document).where(Document.kind == "invoice").limit(1))
    found = search_choices("invoice", invoice.number)
    assert [c.id for c in found] == [invoice.id] and found[0].label.startswith(invoice.number)
    assert search_choices("quote", invoice.number) == []
    assert len(search_choices("contact", "")) == MAX_RESULTS
    with pytest.raises(PickerError):
        search_choices("password", "x")


def test_the_form_names_the_chosen_record_or_the_one_its_text_matches(people):
    label = choice_of("contact", people.jan).label
    assert choose_record("contact", label, people.jan.id) is people.jan
    assert choose_record("contact", "", people.jan.id) is people.jan  # the confirmation page
    # The text was edited after the choice (or typed without the script): the text wins.
    assert choose_record("contact", "emma", people.jan.id) is people.emma
    assert choose_record("contact", "  Emma   Smith ", None) is people.emma
    for text, message in (
        ("bakkerij", "more than one contact matches “bakkerij”"),
        ("nobody", "no contact matches “nobody”"),
        ("", "type part of the name of a contact"),
        ("<>", "type part of the name of a contact"),
    ):
        with pytest.raises(PickerError, match=message):
            choose_record("contact", text, None)
    assert choose_record("contact", "jan", 999999) is people.jan


def test_the_search_endpoint_answers_json_to_signed_in_users(app, demo):
    anonymous = app.test_client()
    csrf_token(anonymous)
    assert anonymous.get("/records/search/contact?q=a").status_code in (302, 401)
    marketer = log_in(app.test_client(), "marketer@example.com")
    contact = db.session.scalars(db.select(Contact).order_by(Contact.id)).first()
    answer = marketer.get(f"/records/search/contact?q={contact.last_name}")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.headers["Cache-Control"] == "private, no-store"
    results = answer.get_json()["results"]
    assert contact.id in [r["id"] for r in results] and len(results) <= MAX_RESULTS
    assert set(results[0]) == {"id", "label", "detail"}
    assert len(marketer.get("/records/search/contact").get_json()["results"]) == MAX_RESULTS


def test_odd_queries_are_answered_or_refused_in_words(admin_client):
    too_long = admin_client.get("/records/search/contact?q=" + "a" * 201)
    assert too_long.status_code == 400 and too_long.get_json()["error"]["code"] == "query_too_long"
    assert admin_client.get("/records/search/contact?q=" + "a" * 200).status_code == 200
    for odd in ("zq%00qz", "%25%25", "%5C", "'%20OR%201=1--", "%F0%9F%98%80", "zq%20" * 40):
        answer = admin_client.get(f"/records/search/contact?q={odd}")
        assert answer.status_code == 200 and answer.get_json()["results"] == [], odd
    only_control = admin_client.get("/records/search/contact?q=%00%01%0A")  # as an empty query
    assert len(only_control.get_json()["results"]) == MAX_RESULTS
    unknown = admin_client.get("/records/search/users_passwords?q=a")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
    assert admin_client.get("/records/search/contact?q=a&q=b").status_code == 200


def test_the_editor_offers_a_picker_instead_of_a_list(admin_client):
    welcome = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    page = admin_client.get(f"/templates/{welcome.id}").text
    send_card = page.split("send-heading")[1].split("</section>")[0]
    assert "<select" not in send_card and "<option" not in send_card
    assert 'data-record-picker="/records/search/contact"' in page
    assert 'name="contact_query"' in page and 'id="preview-contact-query"' in page
    assert "js/record-picker.js" in page


def test_send_to_a_contact_by_typing_part_of_the_name(admin_client):
    welcome = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    contact = db.session.scalars(db.select(Contact).order_by(Contact.id)).first()
    token = csrf_token(admin_client, f"/templates/{welcome.id}")
    typed = f"{contact.first_name} {contact.last_name}"
    answer = admin_client.post(
        f"/templates/{welcome.id}/send", data={"csrf_token": token, "contact_query": typed}
    )
    assert answer.status_code == 200  # the confirmation page, naming them
    assert contact.email in answer.text and db.session.scalar(db.select(Message.id)) is None
    refused = admin_client.post(
        f"/templates/{welcome.id}/send",
        data={"csrf_token": token, "contact_query": "e", "contact": ""},
        follow_redirects=True,
    )
    assert "Not sent: more than one contact matches “e”" in refused.text
    assert db.session.scalar(db.select(Message.id)) is None
    assert len(templating.list_templates()) > 0


def test_a_workflow_is_tested_against_a_record_typed_in_its_picker(admin_client):
    from designer import workflows

    welcome = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    rule = workflows.save_workflow(
        {
            "name": "Welcome new contacts",
            "module": "contact",
            "trigger": {"type": "created"},
            "actions": [{"template_id": welcome.id, "to": "record"}],
        }
    )
    page = admin_client.get(f"/workflows/{rule.id}").text
    assert 'id="test-record-query"' in page and '<select id="test-record"' not in page
    contact = db.session.scalars(db.select(Contact).order_by(Contact.id.desc())).first()
    tested = admin_client.get(
        f"/workflows/{rule.id}/test", query_string={"record_query": contact.email}
    )
    assert tested.status_code == 200 and f"contact #{contact.id}" in tested.text
    assert (
        f'value="{choice_of("contact", contact).label}"'.replace("<", "&lt;").replace(">", "&gt;")
        in tested.text
    )
    several = admin_client.get(
        f"/workflows/{rule.id}/test", query_string={"record_query": "a"}, follow_redirects=True
    )
    assert "Not tested: more than one contact matches “a”" in several.text
    long = admin_client.get(
        f"/workflows/{rule.id}/test", query_string={"record_query": "x" * 10000}
    )
    assert long.status_code == 302

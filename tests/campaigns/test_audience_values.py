"""Audience filters take values as a marketer writes them; the builder offers them by name."""

import pytest
from support import csrf_token, log_in

from designer import campaigns
from designer.campaigns import audience_values
from designer.extensions import db
from designer.records.models import Organisation, User


def count(field, value, op="eq"):
    return campaigns.audience_count([{"field": field, "op": op, "value": value}])


def test_a_language_may_be_named_in_english_in_its_own_words_or_by_code(demo):
    dutch = count("contact.language", "nl")
    assert dutch > 0
    for value in ("Dutch", "NL", " nederlands ", "Niederländisch"):
        assert count("contact.language", value) == dutch, value
    assert count("contact.language", "Dutch,English", op="in") == dutch + count(
        "contact.language", "en"
    )
    assert count("contact.language", "Klingon") == 0  # a name that is no language finds none


def test_a_country_may_be_named_by_code_or_in_another_language(demo):
    netherlands = count("organisation.country", "Netherlands")
    assert netherlands > 0
    for value in ("NL", "nl", "Nederland", "Niederlande", "Pays-Bas"):
        assert count("organisation.country", value) == netherlands, value


def test_an_owner_may_be_named_by_name_or_address_and_an_unknown_one_is_refused(demo):
    owner = db.session.get(User, db.session.scalar(db.select(Organisation.owner_id).limit(1)))
    by_id = count("organisation.owner_id", str(owner.id))
    assert by_id > 0
    assert count("organisation.owner_id", owner.name.upper()) == by_id
    assert count("organisation.owner_id", owner.email) == by_id
    with pytest.raises(campaigns.FilterInvalid, match="no user with the name or e-mail"):
        count("organisation.owner_id", "Nobody Atall")


def test_a_campaign_may_be_named_by_its_name(demo):
    segment = campaigns.create_segment("Everyone", [])
    sender = db.session.scalar(db.select(User).where(User.role == "marketer"))
    campaign = campaigns.create_campaign(
        "Spring news", template=_email_template(), segment=segment, sender=sender
    )
    assert count("received_campaign", "spring NEWS") == count("received_campaign", campaign.id)
    with pytest.raises(campaigns.FilterInvalid, match="no campaign called 'Autumn'"):
        count("received_campaign", "Autumn")


def _email_template():
    from designer.templating import Template

    return db.session.scalar(db.select(Template).where(Template.name == "Welcome"))


def test_the_builder_shows_labels_and_offers_values_by_name(client, demo):
    page = " ".join(log_in(client, "marketer@example.com").get("/campaigns/new").text.split())
    assert '<option value="organisation.owner_id">Organisation: owner</option>' in page
    assert '<option value="opened_campaign">Opened the campaign</option>' in page
    assert '<datalist id="choices-contact.language">' in page
    assert '<option value="nl">Dutch (nl)</option>' in page
    assert "organisation.owner_id</option>" not in page


def test_the_live_count_takes_a_language_by_name(client, demo):
    api = log_in(client, "marketer@example.com")
    token = csrf_token(api, "/campaigns/new")
    answer = api.post(
        "/api/v1/segments/count",
        json={"filters": [{"field": "contact.language", "op": "eq", "value": "Dutch"}]},
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 200, answer.text
    assert answer.get_json()["count"] == count("contact.language", "nl")
    unknown = api.post(
        "/api/v1/segments/count",
        json={"filters": [{"field": "organisation.owner_id", "op": "eq", "value": "Zed"}]},
        headers={"X-CSRFToken": token},
    )
    assert unknown.status_code == 422 and "no user with the name" in unknown.text


def test_choices_list_what_the_data_holds(demo):
    offered = audience_values.choices()
    countries = {value for value, _ in offered["organisation.country"]}
    assert "Netherlands" in countries
    assert all(label.endswith(f"({code})") for code, label in offered["contact.language"])

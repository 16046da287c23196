"""List sends end to end: tick records in a list (or take all matching its filter), pick a
template, step through the previews, confirm, and the one-off campaign delivers to a real
SMTP server on loopback, leaving out (and naming) the suppressed."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from support import csrf_token

from designer import mail
from designer.campaigns.models import Campaign
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.records import Contact, Organisation, User
from designer.templating import Template, create_template

ORG_MJML = """<mjml><mj-body><mj-section><mj-column>
<mj-text>Dear {{ organisation.name }}, regards {{ sender.name }}</mj-text>
</mj-column></mj-section></mj-body></mjml>"""


@pytest.fixture
def trio(app, demo):
    """Three contacts tagged ``trio``; Carol is on the suppression list (unsubscribed)."""
    owner = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    org = Organisation(name="Trio Works", email="office@trio.example", owner=owner)
    people = [
        Contact(
            first_name=first,
            last_name="Trio",
            email=f"{first.lower()}@trio.example",
            tags="trio",
            organisation=org,
            language="en",
        )
        for first in ("Alice", "Bob", "Carol")
    ]
    db.session.add_all([org, *people])
    db.session.commit()
    mail.suppress("carol@trio.example", "unsubscribed")
    return people


@pytest.fixture
def welcome_template(demo):
    return db.session.scalar(db.select(Template).where(Template.name == "Welcome"))


def form(client, **fields):
    """A list-send form: the CSRF token of the contacts page plus ``fields``."""
    return {"csrf_token": csrf_token(client, "/contacts"), "module": "contact", **fields}


def counts():
    return (
        db.session.scalar(db.select(db.func.count(Campaign.id))),
        db.session.scalar(db.select(db.func.count(Message.id))),
    )


def test_ticked_contacts_get_the_mail_and_the_suppressed_one_is_named(
    smtp_app, smtp_server, run_worker_burst, marketer_client, trio, welcome_template
):
    client = marketer_client
    listing = client.get("/contacts?tag=trio").get_data(as_text=True)
    for person in trio:
        assert f'name="id" value="{person.id}"' in listing
    assert "Suppressed: unsubscribed" in listing

    ids = [str(p.id) for p in trio]
    page = client.post("/send/list", data=form(client, id=ids))
    assert page.status_code == 200
    assert "Send e-mail to 3 contacts" in page.get_data(as_text=True)

    # Step to the second recipient (name order: Alice, Bob, Carol) and open its preview.
    chosen = {"ids": ",".join(ids), "template_id": welcome_template.id, "sender": "user"}
    step = client.post("/send/list", data=form(client, at="1", **chosen)).get_data(as_text=True)
    assert "Recipient 2 of 3" in step and "bob@trio.example" in step
    src = re.search(r'<iframe class="list-send-frame"[^>]*src="([^"]+)"', step).group(1)
    preview = client.get(src.replace("&amp;", "&"))
    assert preview.status_code == 200
    assert "sandbox" in preview.headers["Content-Security-Policy"]
    assert "Bob" in preview.get_data(as_text=True)

    before = counts()
    review = client.post("/send/list/review", data=form(client, **chosen))
    text = review.get_data(as_text=True)
    assert review.status_code == 200
    assert "<strong>2</strong> people get the mail" in text
    assert "Carol Trio" in text and "held back: unsubscribed" in text
    assert counts() == before  # nothing is written before the confirmation

    done = client.post("/send/list/confirm", data=form(client, **chosen))
    assert done.status_code == 302
    campaign = db.session.scalar(db.select(Campaign).order_by(Campaign.id.desc()))
    assert done.headers["Location"].endswith(f"/campaigns/{campaign.id}")
    assert campaign.one_off and campaign.segment.filters[0]["field"] == "contact.id"

    run_worker_burst()
    delivered = sorted(rcpt for e in smtp_server.handler.received for rcpt in e.rcpt_tos)
    assert delivered == ["alice@trio.example", "bob@trio.example"]
    held = db.session.scalar(
        db.select(Message).where(Message.campaign_id == campaign.id, Message.state == "suppressed")
    )
    assert held.recipient_email == "carol@trio.example"
    assert held.last_error.startswith("held back: unsubscribed")

    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert re.search(r'id="count-suppressed">1<', page)
    assert re.search(r'id="count-sent">2<', page)
    assert "Carol Trio" in page and "held back: unsubscribed" in page
    report = client.get(f"/campaigns/{campaign.id}/report").get_data(as_text=True)
    assert "Carol Trio" in report and "carol@trio.example" in report


def test_all_matching_the_filter_sends_to_what_the_list_shows(
    smtp_app, smtp_server, run_worker_burst, marketer_client, trio, welcome_template
):
    client = marketer_client
    listing = client.get("/contacts?tag=trio").get_data(as_text=True)
    assert "All 3 matching this filter" in listing
    chosen = {"scope": "all", "tag": "trio", "template_id": welcome_template.id, "sender": "user"}
    review = client.post("/send/list/review", data=form(client, **chosen)).get_data(as_text=True)
    assert "of the 3 contacts matching the filter" in review
    assert "<strong>2</strong> people get" in review

    done = client.post("/send/list/confirm", data=form(client, **chosen))
    assert done.status_code == 302
    campaign = db.session.scalar(db.select(Campaign).order_by(Campaign.id.desc()))
    assert campaign.segment.filters == [{"field": "contact.tags", "op": "has_tag", "value": "trio"}]
    run_worker_burst()
    assert len(smtp_server.handler.received) == 2
    assert {
        m.state
        for m in db.session.scalars(db.select(Message).where(Message.campaign_id == campaign.id))
    } == {"sent", "suppressed"}


def test_the_list_search_filters_contacts_and_organisations(marketer_client, trio):
    client = marketer_client
    found = client.get("/contacts?q=bob@trio").get_data(as_text=True)
    assert "bob@trio.example" in found and "alice@trio.example" not in found
    assert "No contacts match this filter" in client.get("/contacts?q=nobody-at-all").get_data(
        as_text=True
    )
    orgs = client.get("/organisations?q=trio works").get_data(as_text=True)
    assert "Trio Works" in orgs and "All 1 matching this filter" in orgs


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "tick at least one of the contacts"),
        ({"id": "abc"}, "record ids are whole numbers"),
        ({"id": "99999999999999999"}, "record ids are whole numbers"),
        ({"id": "987654"}, "no contact with id 987654"),
        ({"ids": ",".join(str(i) for i in range(1, 1002))}, "a list send names at most 1000"),
        ({"module": "product", "id": "1"}, "goes to contacts or organisations"),
    ],
)
def test_a_bad_selection_goes_back_to_the_list_with_a_message(
    marketer_client, trio, fields, message
):
    client = marketer_client
    response = client.post("/send/list", data=form(client, **fields), follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Nothing sent: " in text and message in text


def test_a_template_of_another_module_or_a_pdf_is_refused(marketer_client, trio):
    client = marketer_client
    ids = ",".join(str(p.id) for p in trio)
    for name, message in (
        ("Invoice reminder", "is a template for invoices; choose one for contacts"),
        ("Business letter (PDF)", "is a PDF template; choose an e-mail template"),
    ):
        template = db.session.scalar(db.select(Template).where(Template.name == name))
        before = counts()
        response = client.post(
            "/send/list/confirm", data=form(client, ids=ids, template_id=template.id, sender="user")
        )
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
        assert counts() == before
    response = client.post("/send/list/review", data=form(client, ids=ids, sender="user"))
    assert response.status_code == 400 and "choose a template" in response.get_data(as_text=True)
    response = client.post("/send/list/review", data=form(client, ids=ids, template_id="x1"))
    assert "choose a template from the list" in response.get_data(as_text=True)


def test_csrf_and_login_are_required(app, demo, marketer_client, trio):
    ids = ",".join(str(p.id) for p in trio)
    refused = marketer_client.post("/send/list/confirm", data={"module": "contact", "ids": ids})
    assert refused.status_code == 400
    anonymous = app.test_client()
    assert anonymous.get("/contacts").status_code in (302, 401)
    assert anonymous.post("/send/list", data={"module": "contact", "ids": ids}).status_code in (
        302,
        400,
        401,
    )


def test_a_send_later_is_scheduled_in_the_users_time_zone(marketer_client, trio, welcome_template):
    client = marketer_client
    user = db.session.scalar(db.select(User).where(User.email == "marketer@example.com"))
    user.timezone = "Europe/Amsterdam"
    db.session.commit()
    local = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0, tzinfo=ZoneInfo("UTC"))
    local = local.astimezone(ZoneInfo("Europe/Amsterdam"))
    chosen = {
        "ids": ",".join(str(p.id) for p in trio),
        "template_id": welcome_template.id,
        "sender": "user",
        "send_at": local.strftime("%Y-%m-%dT%H:%M"),
    }
    review = client.post("/send/list/review", data=form(client, **chosen)).get_data(as_text=True)
    assert "(Europe/Amsterdam)" in review and "Schedule for 2 people" in review
    assert client.post("/send/list/confirm", data=form(client, **chosen)).status_code == 302
    campaign = db.session.scalar(db.select(Campaign).order_by(Campaign.id.desc()))
    assert campaign.state == "scheduled"
    expected = local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    assert campaign.scheduled_at == expected
    assert (
        db.session.scalar(
            db.select(db.func.count(Message.id)).where(Message.campaign_id == campaign.id)
        )
        == 0
    )

    past = dict(chosen, send_at=(datetime.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    response = client.post("/send/list/review", data=form(client, **past))
    assert response.status_code == 400 and "the send time is in the past" in response.get_data(
        as_text=True
    )


def test_organisations_get_it_from_their_owner_and_one_without_address_is_named(
    smtp_app, smtp_server, run_worker_burst, marketer_client, trio
):
    client = marketer_client
    owner = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    template = create_template(
        "Org letter",
        ORG_MJML,
        subject="Hello {{ organisation.name }}",
        module="organisation",
        user=owner,
    )
    silent = Organisation(name="Trio Silent", email="")
    db.session.add(silent)
    db.session.commit()
    org = db.session.scalar(db.select(Organisation).where(Organisation.name == "Trio Works"))
    chosen = {
        "module": "organisation",
        "ids": f"{org.id},{silent.id}",
        "template_id": template.id,
        "sender": "owner",
    }
    review = client.post("/send/list/review", data=form(client, **chosen)).get_data(as_text=True)
    assert "<strong>1</strong> person gets the mail" in review
    assert "No e-mail address: 1" in review and "Trio Silent" in review

    assert client.post("/send/list/confirm", data=form(client, **chosen)).status_code == 302
    run_worker_burst()
    (envelope,) = smtp_server.handler.received
    assert envelope.rcpt_tos == ["office@trio.example"]
    message = db.session.scalar(db.select(Message).where(Message.record_module == "organisation"))
    assert owner.name in message.from_address and message.organisation_id == org.id
    campaign = db.session.get(Campaign, message.campaign_id)
    assert campaign.sender_mode == "owner" and campaign.suppressed_count == 1

    # A contact template does not go to organisations.
    welcome = db.session.scalar(db.select(Template).where(Template.name == "Welcome"))
    response = client.post(
        "/send/list/review", data=form(client, **dict(chosen, template_id=welcome.id))
    )
    assert "is a template for contacts; choose one for organisations" in response.get_data(
        as_text=True
    )


def test_an_id_list_is_bounded_and_a_search_needs_text(app, trio):
    from designer import campaigns

    many = [{"field": "contact.id", "op": "in", "value": list(range(1, 1002))}]
    with pytest.raises(campaigns.FilterInvalid, match="at most 1000 values"):
        campaigns.audience_count(many)
    with pytest.raises(campaigns.FilterInvalid, match="give the text to search for"):
        campaigns.audience_count([{"field": "contact.search", "op": "contains", "value": " "}])
    found = [{"field": "contact.search", "op": "contains", "value": "TRIO WORKS"}]
    assert campaigns.audience_count(found) == 3  # by the organisation's name
    with pytest.raises(campaigns.FilterInvalid, match="a whole number up to"):
        campaigns.audience_count([{"field": "contact.id", "op": "eq", "value": "9" * 20}])

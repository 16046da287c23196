"""Sending a template to a record through the API, and a record's messages: the ledger
row, idempotency, who may send as whom, every refusal in our error shape (and nothing
written), and the history page by page with its counts."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from support import bearer_client, pixel_path

from designer import mail
from designer.extensions import db
from designer.mail.models import Message
from designer.records import Contact, Document, Organisation, User
from designer.templating import Template, create_variant

NEW_CONTACT = {"id": "77x1", "first_name": "Ann", "email": "ann@client.example"}


def error_of(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] == code, error
    return error


def named(model, **where):
    query = db.select(model).filter_by(**where).order_by(model.id).limit(1)
    return db.session.scalar(query)


def message_count():
    return db.session.scalar(db.select(db.func.count(Message.id)))


@pytest.fixture
def welcome_id(demo):
    return named(Template, name="Welcome").id


@pytest.fixture
def contact(demo):
    return db.session.scalar(
        db.select(Contact).where(Contact.email != "", Contact.language == "en").order_by(Contact.id)
    )


def send(api, **body):
    return api.post("/api/v1/messages", json=body)


def test_a_send_writes_one_queued_message_and_answers_202(admin_api, welcome_id, contact):
    response = send(admin_api, template_id=welcome_id, record={"id": contact.id})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["state"] == "queued" and body["recipient"] == contact.email
    assert body["from"].endswith("<admin@example.com>")
    assert response.headers["Location"] == f"/api/v1/messages/{body['id']}"
    assert "Idempotent-Replayed" not in response.headers
    assert admin_api.get(response.headers["Location"]).get_json() == body
    message = db.session.get(Message, body["id"])
    assert (message.record_module, message.record_id) == ("contact", contact.id)
    assert message.enqueued_at is not None  # queued through the ledger


def test_the_record_can_be_named_by_the_crm_id(admin_api, welcome_id):
    assert admin_api.put("/api/v1/records/contact", json=NEW_CONTACT).status_code == 201
    response = send(admin_api, template_id=welcome_id, record={"external_id": "77x1"})
    assert response.status_code == 202 and response.get_json()["recipient"] == NEW_CONTACT["email"]
    response = send(
        admin_api, template_id=welcome_id, record={"module": "contact", "external_id": "nope"}
    )
    error = error_of(response, 422, "unknown_record")
    assert error["details"]["fields"] == {"record": ["no contact with CRM id 'nope'"]}


def test_an_idempotency_key_sends_once(admin_api, marketer_api, welcome_id, contact):
    body = {"template_id": welcome_id, "record": {"id": contact.id}, "idempotency_key": "k-1"}
    first = admin_api.post("/api/v1/messages", json=body)
    again = admin_api.post("/api/v1/messages", json=body)
    assert first.status_code == again.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert message_count() == 1
    other = named(Contact, language="nl")
    error = error_of(
        send(admin_api, **{**body, "record": {"id": other.id}}), 409, "idempotency_key_reused"
    )
    assert error["details"]["message_id"] == first.get_json()["id"]
    assert "idempotency_key" in error["details"]["fields"]
    # Keys are each user's own: the marketer's same key is a new send.
    theirs = marketer_api.post("/api/v1/messages", json=body).get_json()
    assert theirs["id"] != first.get_json()["id"]
    assert message_count() == 2


def test_who_may_send_as_whom(admin_api, marketer_api, welcome_id, contact):
    record = {"id": contact.id}
    as_marketer = send(
        admin_api, template_id=welcome_id, record=record, sender="MARKETER@example.com"
    )
    assert as_marketer.status_code == 202
    marketer = named(User, email="marketer@example.com")
    assert db.session.get(Message, as_marketer.get_json()["id"]).sender_id == marketer.id
    system = send(admin_api, template_id=welcome_id, record=record, sender="system")
    assert system.status_code == 202 and "hello@northwind.example" in system.get_json()["from"]
    mine = send(marketer_api, template_id=welcome_id, record=record, sender="marketer@example.com")
    assert mine.status_code == 202
    before = message_count()
    for sender in ("admin@example.com", "system"):
        error = error_of(
            send(marketer_api, template_id=welcome_id, record=record, sender=sender),
            403,
            "forbidden",
        )
        assert "sender" in error["details"]["fields"]
    error = error_of(
        send(admin_api, template_id=welcome_id, record=record, sender="nobody@example.com"),
        422,
        "unknown_sender",
    )
    assert error["message"] == "sender: no active user has the address nobody@example.com"
    assert message_count() == before


def test_the_central_address_stands_for_the_caller(admin_api, welcome_id, contact):
    from designer.mail.sender import set_sending_policy

    set_sending_policy(central_from="news@northwind.example")
    response = send(
        admin_api,
        template_id=welcome_id,
        record={"id": contact.id},
        sender="news@northwind.example",
    )
    assert response.status_code == 202
    assert "news@northwind.example" in response.get_json()["from"]


def test_the_locale_chooses_the_variant_and_the_formats(admin_api, demo, contact):
    welcome = named(Template, name="Welcome")
    dutch = create_variant(welcome, "nl")
    response = send(admin_api, template_id=welcome.id, record={"id": contact.id}, locale="nl")
    message = db.session.get(Message, response.get_json()["id"])
    assert message.template_version_id == dutch.current.id and message.locale == "nl"
    pinned = send(admin_api, template_id=welcome.id, record={"id": contact.id}, version=1)
    assert pinned.get_json()["template_version_id"] == welcome.versions[0].id
    for locale in ("klingon", "xx", "nl\x00"):
        error = error_of(
            send(admin_api, template_id=welcome.id, record={"id": contact.id}, locale=locale),
            422,
            "invalid_request",
        )
        assert "locale" in error["details"]["fields"]


def test_an_invoice_mail_attaches_pdfs_rendered_for_the_invoice(admin_api, demo):
    reminder = named(Template, name="Invoice reminder")
    pdf = named(Template, name="Sales order (PDF)")
    invoice = db.session.scalar(
        db.select(Document).where(Document.kind == "invoice", Document.contact_id.is_not(None))
    )
    response = send(
        admin_api,
        template_id=reminder.id,
        record={"module": "invoice", "id": invoice.id},
        attach_pdf_template_ids=[pdf.id],
    )
    assert response.status_code == 202, response.get_json()
    message = db.session.get(Message, response.get_json()["id"])
    built = mail.build_message(message, tracking=False).data
    assert b"application/pdf" in built and b"Content-Disposition: attachment" in built
    contact_pdf = named(Template, name="Business letter (PDF)")
    error = error_of(
        send(
            admin_api,
            template_id=reminder.id,
            record={"module": "invoice", "id": invoice.id},
            attach_pdf_template_ids=[contact_pdf.id],
        ),
        422,
        "invalid_attachment",
    )
    assert "attach_pdf_template_ids" in error["details"]["fields"]


#: (body, code, field at fault): "WELCOME" and "PDF" stand for those templates' ids.
BAD_SENDS = [
    ({"template_id": 999999, "record": {"id": 1}}, "unknown_template", "template_id"),
    ({"template_id": "PDF", "record": {"id": 1}}, "not_an_email", "template_id"),
    ({"template_id": "WELCOME", "record": {"id": 999999}}, "unknown_record", "record"),
    (
        {"template_id": "WELCOME", "record": {"module": "invoice", "id": 1}},
        "wrong_module",
        "record",
    ),
    (
        {"template_id": "WELCOME", "record": {"id": 1, "external_id": "x"}},
        "invalid_request",
        "record",
    ),
    ({"template_id": "WELCOME", "record": {}}, "invalid_request", "record"),
    ({"template_id": "WELCOME", "record": "contact:1"}, "invalid_request", "record"),
    ({"template_id": "WELCOME"}, "invalid_request", "record"),
    ({"template_id": "WELCOME", "record": {"id": 1}, "version": 99}, "no_such_version", "version"),
    (
        {"template_id": "WELCOME", "record": {"id": 1}, "idempotency_key": "x" * 101},
        "invalid_request",
        "idempotency_key",
    ),
    (
        {"template_id": "WELCOME", "record": {"id": 1}, "idempotency_key": "two words"},
        "invalid_request",
        "idempotency_key",
    ),
    (
        {"template_id": "WELCOME", "record": {"id": 1}, "attach_pdf_template_ids": [1] * 11},
        "invalid_request",
        "attach_pdf_template_ids",
    ),
    ({"template_id": "WELCOME", "record": {"id": 1}, "sender": ""}, "invalid_request", "sender"),
    ({"template_id": 2**31, "record": {"id": 1}}, "invalid_request", "template_id"),
    ({"template_id": "WELCOME", "record": {"id": 1}, "extra": 1}, "invalid_request", "extra"),
]


def test_bad_input_is_refused_and_writes_nothing(admin_api, demo):
    ids = {"WELCOME": named(Template, name="Welcome").id, "PDF": named(Template, kind="pdf").id}
    for body, code, field in BAD_SENDS:
        body = {**body, "template_id": ids.get(body.get("template_id"), body.get("template_id"))}
        response = send(admin_api, **body)
        assert response.status_code == 422, (body, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == code, (body, error)
        assert field in error["details"]["fields"] and error["message"].startswith(field), error
    assert message_count() == 0


def test_a_record_without_an_address_or_suppressed_is_refused(admin_api, welcome_id, contact):
    org = Organisation(name="No Mail BV", email="")
    silent = Contact(first_name="Sil", last_name="Ent", email="", organisation=org)
    db.session.add_all([org, silent])
    db.session.commit()
    error = error_of(
        send(admin_api, template_id=welcome_id, record={"id": silent.id}), 422, "no_address"
    )
    assert error["message"] == f"record: contact {silent.id} has no e-mail address"
    mail.suppress(contact.email.upper(), "unsubscribed")
    error = error_of(
        send(admin_api, template_id=welcome_id, record={"id": contact.id}),
        422,
        "recipient_suppressed",
    )
    assert error["details"]["reason"] == "unsubscribed" and contact.email in error["message"]
    assert message_count() == 0


def test_sending_needs_a_token(client, welcome_id, contact):
    response = client.post(
        "/api/v1/messages", json={"template_id": welcome_id, "record": {"id": contact.id}}
    )
    error_of(response, 401, "unauthorized")


# A record's messages


def test_a_records_messages_come_newest_first_in_pages_with_counts(
    app, admin_api, client, welcome_id, contact
):
    ids = [
        send(admin_api, template_id=welcome_id, record={"id": contact.id}).get_json()["id"]
        for _ in range(3)
    ]
    welcome = db.session.get(Template, welcome_id)
    mail.queue_message(
        welcome, module="contact", record=contact, sender_user=None, test_to=named(User)
    )  # a test send: not the record's
    opened = db.session.get(Message, ids[0])
    client.get(pixel_path(app, opened.token))
    path = f"/api/v1/records/contact/{contact.id}/messages"
    first = admin_api.get(path + "?limit=2").get_json()
    assert first["limit"] == 2 and first["next_cursor"]
    assert [m["id"] for m in first["messages"]] == ids[:0:-1]
    second = admin_api.get(path + "?limit=2&cursor=" + first["next_cursor"]).get_json()
    assert [m["id"] for m in second["messages"]] == [ids[0]]
    assert second["next_cursor"] is None
    assert second["messages"][0]["open_count"] == 1 and second["messages"][0]["state"] == "queued"
    org_path = f"/api/v1/records/organisation/{contact.organisation_id}/messages"
    assert [m["id"] for m in admin_api.get(org_path).get_json()["messages"]] == ids[::-1]


def test_record_messages_refuse_unknown_records_and_bad_pages(admin_api, demo):
    error_of(admin_api.get("/api/v1/records/contact/999999/messages"), 404, "not_found")
    error_of(admin_api.get("/api/v1/records/user/1/messages"), 404, "not_found")
    error = error_of(
        admin_api.get("/api/v1/records/contact/1/messages?limit=1000"), 422, "invalid_request"
    )
    assert "limit" in error["details"]["fields"]


def test_requests_with_the_same_key_at_once_send_once(app, admin_token, welcome_id, contact):
    db.session.commit()
    body = {"template_id": welcome_id, "record": {"id": contact.id}, "idempotency_key": "race"}

    def post(_):
        with app.app_context():
            response = bearer_client(app, admin_token).post("/api/v1/messages", json=body)
            db.session.remove()
            return response.status_code, response.get_json()["id"]

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(post, range(4)))
    assert {status for status, _ in answers} == {202}
    assert len({message_id for _, message_id in answers}) == 1
    assert message_count() == 1

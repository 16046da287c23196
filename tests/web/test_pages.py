"""Pages and the API they call: login, roles, CSRF, the editor, the organisation page, the
outbox."""

import re

import pytest
from support import csrf_token, log_in

from designer import mail, tracking
from designer.extensions import db
from designer.mail.catcher import store_received
from designer.records import User
from designer.templating import Template


@pytest.fixture
def ada(client, people):
    return log_in(client, "ada@example.com", "secret")


@pytest.fixture
def marketer(app, people):
    user = User(name="Mia Marketer", email="mia@example.com", role="marketer", language="de")
    user.set_password("secret")
    db.session.add(user)
    db.session.commit()
    return log_in(app.test_client(), "mia@example.com", "secret")


@pytest.mark.parametrize(
    "path",
    ["/templates", "/organisations", "/outbox", "/users", "/templates/1", "/organisations/1"],
)
def test_pages_need_a_login(client, people, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_api_without_login_is_401_json(client, people):
    response = client.get("/api/v1/templates")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_wrong_password_is_refused(client, people):
    response = client.post(
        "/login",
        data={"email": "ada@example.com", "password": "nope", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 401 and "Wrong e-mail address or password" in response.text


def test_login_redirect_is_never_off_site(client, people):
    for target in ("https://evil.test/", "//evil.test/", "/\\evil.test"):
        response = client.post(
            f"/login?next={target}",
            data={
                "email": "ada@example.com",
                "password": "secret",
                "csrf_token": csrf_token(client),
            },
        )
        assert response.headers["Location"] == "/templates"


def test_posts_without_csrf_token_are_refused(ada, welcome, people):
    response = ada.post(f"/templates/{welcome.id}", data={"source": "x", "subject": "y"})
    assert response.status_code == 400 and "CSRF" in response.text
    login = ada.post("/login", data={"email": "ada@example.com", "password": "secret"})
    assert login.status_code == 400


def test_users_page_is_for_admins_only(ada, marketer):
    assert ada.get("/users").status_code == 200
    assert "mia@example.com" in ada.get("/users").text
    assert marketer.get("/users").status_code == 403
    assert marketer.get("/templates").status_code == 200


def test_a_refused_page_says_which_role_cannot_open_it_and_whom_to_ask(marketer):
    page = marketer.get("/users", headers={"Accept": "text/html"})
    assert page.status_code == 403
    assert "check what you entered" not in page.text
    assert "with the role marketer, and this role cannot open this page" in page.text
    assert "ask an administrator (Ada Admin)" in page.text


def test_a_refused_api_call_keeps_its_json_error(marketer):
    answer = marketer.get("/users", headers={"Accept": "application/json"})
    assert answer.status_code == 403
    assert answer.json["error"]["message"] == "This is for admin users only."


def test_editor_saves_a_new_version(ada, welcome):
    source = welcome.current.source.replace("Start", "Begin now")
    response = ada.post(
        f"/templates/{welcome.id}",
        data={
            "source": source,
            "subject": "Hi {{ contact.first_name }}",
            "csrf_token": csrf_token(ada, "/templates"),
        },
    )
    assert response.status_code == 302
    db.session.refresh(welcome)
    assert welcome.current.number == 2 and "Begin now" in welcome.current.compiled_html


def test_editor_rejects_malformed_mjml_with_the_line_and_saves_nothing(ada, welcome):
    bad = "<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-text>Hi</mj-text>\n</mj-body>\n</mjml>"
    response = ada.post(
        f"/templates/{welcome.id}",
        data={"source": bad, "subject": "x", "csrf_token": csrf_token(ada, "/templates")},
    )
    assert response.status_code == 400
    assert re.search(r"Line \d+", response.text)
    assert "&lt;mj-section&gt;" in response.text  # the unsaved source is kept in the editor
    db.session.refresh(welcome)
    assert welcome.current.number == 1


def test_new_template_page_creates_and_rejects(ada, people):
    token = csrf_token(ada, "/templates/new")
    bad = ada.post(
        "/templates/new",
        data={
            "name": "Bad",
            "source": "<mjml><mj-body>",
            "source_type": "mjml",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 400
    assert db.session.scalar(db.select(db.func.count(Template.id))) == 0
    good = ada.post(
        "/templates/new",
        data={
            "name": "Good",
            "source_type": "mjml",
            "language": "en",
            "subject": "Hi",
            "source": "<mjml><mj-body><mj-section><mj-column><mj-text>Hi</mj-text>"
            "</mj-column></mj-section></mj-body></mjml>",
            "csrf_token": token,
        },
    )
    assert good.status_code == 302


def test_preview_merges_for_the_chosen_contact_in_a_sandbox(ada, welcome, people):
    response = ada.get(f"/templates/{welcome.id}/preview?contact={people.jan.id}")
    assert response.status_code == 200
    assert "Hello Jan" in " ".join(response.text.split())
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    editor = ada.get(f"/templates/{welcome.id}")
    assert re.search(r"<iframe[^>]*\ssandbox=\"\"", editor.text)


def test_live_preview_of_unsaved_source(ada, welcome, people):
    token = csrf_token(ada, "/templates")
    editor = ada.get(f"/templates/{welcome.id}").text
    url = f"/api/v1/templates/{welcome.id}/preview"
    assert f'data-preview-url="{url}"' in editor
    response = ada.post(
        url,
        headers={"X-CSRFToken": token},
        json={
            "source": welcome.current.source.replace("Hello", "Howdy"),
            "subject": "Yo {{ contact.first_name }}",
            "record_id": people.emma.id,
        },
    )
    body = response.get_json()
    assert body["subject"] == "Yo Emma" and "Howdy Emma" in " ".join(body["html"].split())
    assert body["locale"] == "en"
    broken = ada.post(
        url,
        headers={"X-CSRFToken": token},
        json={"source": "<mjml>\n{{ oops", "record_id": people.emma.id},
    )
    assert broken.status_code == 422
    assert broken.get_json()["error"]["details"]["line"] == 2
    forged = ada.post(url, json={"source": "<mjml></mjml>", "record_id": people.emma.id})
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "csrf_failed"
    db.session.refresh(welcome)
    assert len(welcome.versions) == 1


def test_send_from_the_editor_queues_a_message(ada, welcome, people):
    response = ada.post(
        f"/templates/{welcome.id}/send",
        data={
            "contact": people.jan.id,
            "confirmed": "yes",
            "csrf_token": csrf_token(ada, "/templates"),
        },
    )
    assert response.status_code == 302
    [message] = db.session.scalars(db.select(mail.Message)).all()
    assert message.recipient_email == "jan@devries.example" and message.state == "queued"


def test_organisation_page_lists_mail_with_open_counts(ada, welcome, people):
    message = mail.queue_message(
        welcome.current,
        module="contact",
        record=people.jan,
        sender_user=people.admin,
        enqueue=False,
    )
    tracking.record_open(message.token)
    tracking.record_open(message.token)
    page = ada.get(f"/organisations/{people.org.id}").text
    assert "jan@devries.example" in page
    found = re.search(rf'data-message-id="{message.id}"[^>]*>\s*(\d+)', page)
    assert found and found.group(1) == "2"


def test_a_records_mail_comes_in_pages_of_fifty_newest_first(ada, welcome, people):
    from designer.mail.models import Message

    db.session.add_all(
        Message(
            template_version_id=welcome.current.id,
            contact_id=people.jan.id if n % 2 else None,
            organisation_id=None if n % 2 else people.org.id,
            recipient_email="jan@devries.example",
            subject=f"Letter {n:03}",
            token=f"page-token-{n}",
        )
        for n in range(1, 121)
    )
    db.session.commit()
    path = f"/organisations/{people.org.id}"
    subjects = []
    while path:
        page = ada.get(path).text
        assert '<span class="count">120</span>' in page
        subjects += re.findall(r"Letter (\d{3})", page)
        older = re.search(r'href="([^"]+)#messages-heading">Older e-mails', page)
        path = older and older.group(1).replace("&amp;", "&")
    assert subjects == [f"{n:03}" for n in range(120, 0, -1)]
    assert "Newest e-mails" in page and "20 of 120" in page
    contact_page = ada.get(f"/contacts/{people.jan.id}").text
    assert len(re.findall(r"Letter \d{3}", contact_page)) == 50
    for odd in ("?before=0", "?before=-5", "?before=99999999999", "?before=%00"):
        assert ada.get(f"/contacts/{people.jan.id}{odd}").status_code == 200, odd
    past_the_end = ada.get(f"/contacts/{people.jan.id}?before=1").text
    assert "No older e-mails" in past_the_end


def test_unknown_records_are_404_page_or_json(ada):
    page = ada.get("/organisations/999")
    assert page.status_code == 404 and "no organisation with id 999" in page.text
    api = ada.get("/api/v1/records/contact/999")
    assert api.status_code == 404
    assert api.get_json() == {
        "error": {"code": "not_found", "message": "no contact with id 999", "details": {}}
    }
    assert ada.get("/api/v1/templates/999").get_json()["error"]["code"] == "not_found"
    assert ada.get("/templates/999").status_code == 404
    assert ada.get("/api/v1/records/pony/1").status_code == 404


def test_api_returns_templates_and_records(ada, welcome, people):
    listing = ada.get("/api/v1/templates").get_json()["templates"]
    assert listing[0]["name"] == "Welcome" and listing[0]["version"] == 1
    record = ada.get(f"/api/v1/records/contact/{people.jan.id}").get_json()
    assert record["data"]["contact"]["first_name"] == "Jan"
    assert "password_hash" not in str(record)


def test_outbox_shows_what_the_catcher_received(app, ada, welcome, people):
    message = mail.new_message(
        welcome.current, module="contact", record=people.jan, sender_user=people.admin
    )
    raw = mail.build_message(message).data
    store_received(app, "ada@example.com", ["jan@devries.example"], raw)
    listing = ada.get("/outbox").text
    assert "Welcome, Jan!" in listing
    [item] = mail.outbox_page().rows
    page = ada.get(f"/outbox/{item.id}").text
    assert "Message-ID" in page and "Hello Jan" in " ".join(page.split())
    html = ada.get(f"/outbox/{item.id}/html")
    assert html.headers["Content-Security-Policy"].startswith("sandbox")
    assert "Hello Jan" in " ".join(html.text.split())
    assert f"/o/{message.token}." not in html.text
    assert ada.get("/outbox/999").status_code == 404


def test_company_settings_are_admin_only_and_reach_templates(ada, marketer, people):
    assert marketer.get("/settings/company").status_code == 403
    assert marketer.post("/settings/company", data={"name": "X"}).status_code in (400, 403)
    response = ada.post(
        "/settings/company",
        data={
            "name": "  Acme BV ",
            "website": "https://acme.example",
            "csrf_token": csrf_token(ada, "/settings/company"),
        },
    )
    assert response.status_code == 302
    from designer import settings

    assert settings.company()["name"] == "Acme BV"


def test_versions_history_diff_and_restore(ada, welcome):
    from designer import templating

    templating.add_version(welcome, welcome.current.source.replace("Start", "Begin"))
    history = ada.get(f"/templates/{welcome.id}/versions")
    assert history.status_code == 200 and "Restore" in history.text
    diff = ada.get(f"/templates/{welcome.id}/diff?a=1&b=2")
    assert diff.status_code == 200 and "Begin" in diff.text and "Start" in diff.text
    assert ada.get(f"/templates/{welcome.id}/diff?a=1&b=9").status_code == 404
    restored = ada.post(
        f"/templates/{welcome.id}/versions/1/restore",
        data={"csrf_token": csrf_token(ada, "/templates")},
    )
    assert restored.status_code == 302
    db.session.refresh(welcome)
    assert welcome.current.number == 3 and welcome.current.source == welcome.versions[0].source


def test_language_variant_is_chosen_for_the_recipient(ada, welcome, people):
    response = ada.post(
        f"/templates/{welcome.id}/variants",
        data={"language": "nl", "csrf_token": csrf_token(ada, "/templates")},
    )
    assert response.status_code == 302
    db.session.refresh(welcome)
    [dutch] = welcome.variants
    from designer import templating

    templating.add_version(
        dutch,
        dutch.current.source.replace("Hello", "Hallo"),
        subject="Welkom, {{ contact.first_name }}!",
    )
    jan = mail.new_message(welcome, module="contact", record=people.jan, sender_user=people.admin)
    emma = mail.new_message(welcome, module="contact", record=people.emma, sender_user=people.admin)
    assert jan.template_version.template_id == dutch.id
    assert emma.template_version.template_id == welcome.id
    again = ada.post(
        f"/templates/{welcome.id}/variants",
        data={"language": "nl", "csrf_token": csrf_token(ada, "/templates")},
    )
    assert again.status_code == 302
    assert len(welcome.variants) == 1


def test_test_send_goes_to_the_logged_in_user(ada, welcome, people):
    ada.post(
        f"/templates/{welcome.id}/test-send",
        data={"contact": people.jan.id, "csrf_token": csrf_token(ada, "/templates")},
    )
    [message] = db.session.scalars(db.select(mail.Message)).all()
    assert message.recipient_email == "ada@example.com"
    assert message.contact_id is None and message.organisation_id is None
    assert message.record_id == people.jan.id


def test_field_catalogue_api(ada, welcome):
    editor = ada.get(f"/templates/{welcome.id}").text
    assert 'data-fields-url="/api/v1/fields/contact"' in editor
    body = ada.get("/api/v1/fields/contact").get_json()
    names = {field["name"] for field in body["fields"]}
    assert {"contact.first_name", "organisation.name", "sender.name", "company.name"} <= names
    fields = ada.get("/api/v1/fields/invoice").get_json()["fields"]
    invoice = {field["name"]: field for field in fields}
    assert invoice["invoice.total"]["type"] == "money"
    assert invoice["invoice.due_date"]["type"] == "date"
    assert ada.get("/api/v1/fields/pony").status_code == 404


def test_unknown_fields_are_warned_with_suggestions(ada, welcome):
    source = welcome.current.source.replace("contact.first_name", "contact.frist_name")
    ada.post(
        f"/templates/{welcome.id}",
        data={"source": source, "subject": "Hi", "csrf_token": csrf_token(ada, "/templates")},
    )
    page = ada.get(f"/templates/{welcome.id}").text
    assert "contact.frist_name" in page and "contact.first_name" in page


def test_import_page_and_export_download(ada, welcome, tmp_path):
    import io

    exported = ada.get(f"/templates/{welcome.id}/export")
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    assert "attachment" in exported.headers["Content-Disposition"]
    token = csrf_token(ada, "/templates/import")
    imported = ada.post(
        "/templates/import",
        data={
            "file": (io.BytesIO(exported.data), "welcome.zip"),
            "kind": "email",
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302
    bad = ada.post(
        "/templates/import",
        data={"file": (io.BytesIO(b"not a zip"), "broken.zip"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "Nothing imported" in bad.text
    vtiger = ada.post(
        "/templates/import",
        data={
            "file": (
                io.BytesIO(b"<p>Dear $contacts-firstname$ $contacts-contact_no$</p>"),
                "v.html",
            ),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Import report" in vtiger.text and "Not converted" in vtiger.text
    assert "contact_no" in vtiger.text


def test_pages_carry_a_content_security_policy(ada, welcome, people):
    page = ada.get(f"/templates/{welcome.id}")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    preview = ada.get(f"/templates/{welcome.id}/preview?contact={people.jan.id}")
    assert preview.headers["Content-Security-Policy"].startswith("sandbox")


def test_message_page_shows_state_and_content(ada, welcome, people):
    message = mail.queue_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, enqueue=False
    )
    page = ada.get(f"/messages/{message.id}")
    assert page.status_code == 200 and "jan@devries.example" in page.text
    assert "no mailbox linked" in page.text
    html = ada.get(f"/messages/{message.id}/html")
    assert "Hello Jan" in " ".join(html.text.split())
    assert f"/o/{message.token}." not in html.text
    assert ada.get("/messages/999").status_code == 404
    assert ada.get(f"/api/v1/messages/{message.id}").get_json()["sent_copy"] is None


def test_contact_page_lists_its_mail(ada, welcome, people):
    message = mail.queue_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, enqueue=False
    )
    tracking.record_open(message.token)
    page = ada.get(f"/contacts/{people.jan.id}")
    assert page.status_code == 200 and "Every e-mail sent to this contact" in page.text
    assert f'data-message-id="{message.id}"' in page.text
    assert ada.get(f"/contacts/{people.emma.id}").text.count("data-message-id") == 0
    assert ada.get("/contacts/999").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/templates/99999999999999999999"),
        ("get", "/api/v1/templates/2147483648"),
        ("post", "/api/v1/templates/10000000000000/preview"),
        ("post", "/suppressions/99999999999999999999/remove"),
        ("get", "/organisations/3000000000"),
    ],
)
def test_ids_past_what_the_database_holds_are_404(admin_client, method, path):
    answer = getattr(admin_client, method)(path, data={"csrf_token": "x"})
    assert answer.status_code == 404


def test_an_id_at_the_bound_is_an_ordinary_not_found(admin_client):
    """The route matches up to the bound (the page says which template is missing); one
    past it matches no route at all."""
    for path in ("/templates/2099999999", "/templates/2099999999/versions"):
        answer = admin_client.get(path)
        assert answer.status_code == 404 and "no template with id 2099999999" in answer.text
    past = admin_client.get("/templates/2100000000")
    assert past.status_code == 404 and "no template with id" not in past.text


def test_ids_past_the_database_in_a_query_or_form_are_a_clear_400(admin_client, app):
    template = db.session.scalars(db.select(Template).where(Template.kind == "email")).first()
    big = "99999999999999999999"
    answer = admin_client.get(f"/templates/{template.id}/preview?contact={big}")
    assert answer.status_code == 400
    assert "larger than any id" in answer.get_data(as_text=True)
    token = csrf_token(admin_client, "/templates")
    answer = admin_client.post(
        f"/templates/{template.id}/send", data={"contact": big, "csrf_token": token}
    )
    assert answer.status_code == 400
    assert admin_client.get("/templates").status_code == 200  # the session goes on

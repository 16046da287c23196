"""Users' signatures: edited on the account page, sanitised, merged as ``sender.signature``
in the mail sent as that user and empty in the system's mail."""

import re

from support import csrf_token, log_in

from designer import mail, templating
from designer.extensions import db
from designer.mail.sender import set_sending_policy
from designer.records import User
from designer.records.signatures import MAX_LENGTH
from designer.templating.catalogue import unknown_fields

SIGNED_MJML = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Hello {{ contact.first_name }},</mj-text>
        <mj-text>[{{ sender.signature }}]</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""
SIGNATURE = (
    '<p style="color:#336699;position:fixed">Kind regards,<br><strong>Ada Admin</strong></p>'
    '<p><a href="https://example.com/ada" onclick="steal()">example.com</a> {{ 7 * 7 }}</p>'
)


def save(client, html):
    return client.post(
        "/account/signature",
        data={"signature": html, "csrf_token": csrf_token(client, "/account")},
    )


def signed_template(user):
    return templating.create_template(
        "Signed", SIGNED_MJML, subject="Hi {{ contact.first_name }}", user=user
    )


def deliver(template, contact, sender, smtp_server):
    message = mail.queue_message(
        template.current, module="contact", record=contact, sender_user=sender, enqueue=False
    )
    assert mail.deliver_batch([message.id])["sent"] == 1
    return smtp_server.handler.messages()[-1]


def test_the_signature_is_saved_sanitised_and_previewed(app, client, people):
    log_in(client, people.admin.email, "secret")
    page = client.get("/account")
    assert "Your e-mail signature" in page.text and "You have no signature yet." in page.text
    answer = save(client, SIGNATURE + '<script>alert("x")</script><img src=x onerror=alert(1)>')
    assert answer.status_code == 302 and answer.location.endswith("/account#signature")
    db.session.refresh(people.admin)
    stored = people.admin.signature
    assert "<strong>Ada Admin</strong>" in stored and 'style="color:#336699"' in stored
    for gone in ("script", "alert", "onclick", "onerror", "steal", "position"):
        assert gone not in stored
    assert "{{ 7 * 7 }}" in stored  # static HTML: never a template
    page = client.get("/account")
    assert "Signature saved." in page.text and "&lt;strong&gt;Ada Admin" in page.text
    preview = client.get("/account/signature/preview")
    assert "<strong>Ada Admin</strong>" in preview.text and "script" not in preview.text
    assert preview.headers["Content-Security-Policy"].startswith("sandbox")


def test_an_oversize_signature_is_refused_and_kept_in_the_form(app, client, people):
    log_in(client, people.admin.email, "secret")
    save(client, "<p>Ada</p>")
    too_long = "<p>" + "x" * MAX_LENGTH + "</p>"
    answer = save(client, too_long)
    assert answer.status_code == 400
    assert f"at most {MAX_LENGTH:,} fit" in answer.text and 'aria-invalid="true"' in answer.text
    assert "x" * MAX_LENGTH in answer.text  # nothing lost
    db.session.refresh(people.admin)
    assert people.admin.signature == "<p>Ada</p>"


def test_an_empty_signature_removes_it(app, client, people):
    log_in(client, people.admin.email, "secret")
    save(client, "<p>Ada</p>")
    answer = client.get(save(client, "   ").location)
    assert "Signature removed" in answer.text
    db.session.refresh(people.admin)
    assert people.admin.signature == ""


def test_a_signature_needs_the_csrf_token_and_a_login(app, client, people):
    anonymous = {"signature": "x", "csrf_token": csrf_token(client, "/login")}
    assert "/login" in client.post("/account/signature", data=anonymous).location
    log_in(client, people.admin.email, "secret")
    assert client.post("/account/signature", data={"signature": "<p>x</p>"}).status_code == 400
    db.session.refresh(people.admin)
    assert people.admin.signature == ""


def test_a_marketer_edits_only_their_own_signature(app, demo, marketer_client):
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    answer = marketer_client.post(
        "/account/signature",
        data={
            "signature": "<p>Mia</p>",
            "user_id": admin.id,
            "user": admin.email,
            "csrf_token": csrf_token(marketer_client, "/account"),
        },
    )
    assert answer.status_code == 302
    db.session.expire_all()
    marketer = db.session.scalar(db.select(User).where(User.email == "marketer@example.com"))
    assert marketer.signature == "<p>Mia</p>"
    assert admin.signature == ""
    assert marketer_client.post(f"/users/{admin.id}/signature").status_code in (403, 404, 405)


def test_the_signature_is_in_mail_sent_as_that_user(smtp_app, smtp_server, people):
    people.admin.signature = SIGNATURE + "<script>alert(1)</script>"  # sanitised again
    db.session.commit()
    template = signed_template(people.admin)
    assert templating.lint(template, template.current.source) == []
    received = deliver(template, people.jan, people.admin, smtp_server)
    html = received.get_body(("html",)).get_content()
    assert "[<p" in html and "<strong>Ada Admin</strong></p>" in html
    assert "&lt;strong&gt;" not in html and "alert(" not in html and "onclick" not in html
    words = re.sub(r'"[^"]*"', '""', html)  # without attributes (random tokens in links)
    assert "{{ 7 * 7 }}" in words and "49" not in words
    text = received.get_body(("plain",)).get_content()
    assert "Kind regards," in text and "Ada Admin" in text and "<strong>" not in text


def test_the_system_s_mail_has_no_signature(smtp_app, smtp_server, people):
    people.admin.signature = SIGNATURE
    db.session.commit()
    set_sending_policy("crm@company.example")
    received = deliver(signed_template(people.admin), people.jan, None, smtp_server)
    html = received.get_body(("html",)).get_content()
    assert "[]" in html and "Ada Admin" not in html
    assert "[]" in received.get_body(("plain",)).get_content()


def test_the_field_picker_offers_the_signature(app, client, people):
    log_in(client, people.admin.email, "secret")
    for module in ("contact", "invoice", "user"):
        fields = client.get(f"/api/v1/fields/{module}").get_json()["fields"]
        [field] = [f for f in fields if f["name"] == "sender.signature"]
        assert field["label"].startswith("Sender: signature")
    assert unknown_fields("contact", "{{ sender.signatur }}")[0].suggestions == (
        "sender.signature",
    )


def test_the_editor_preview_shows_the_user_s_signature(app, client, people):
    people.admin.signature = SIGNATURE
    db.session.commit()
    template = signed_template(people.admin)
    log_in(client, people.admin.email, "secret")
    page = client.get(f"/templates/{template.id}/preview?contact={people.jan.id}")
    assert page.status_code == 200
    assert "<strong>Ada Admin</strong>" in page.text and "onclick" not in page.text

"""The compose page: one e-mail to a record, reviewed, confirmed, then delivered to a real
SMTP server on loopback with its Cc, Bcc, PDF and uploaded file."""

import io
import re
from datetime import timedelta

import pytest
from support import csrf_token

from designer.clock import utcnow
from designer.extensions import db
from designer.mail import uploads
from designer.mail.models import Message, MessageFile
from designer.records.models import Document, User
from designer.templating import Template, TemplateVersion


def named(name):
    return db.session.scalar(db.select(Template).where(Template.name == name))


@pytest.fixture
def invoice(demo):
    return db.session.scalar(
        db.select(Document)
        .where(Document.kind == "invoice", Document.contact_id.is_not(None))
        .order_by(Document.id)
    )


def url(invoice):
    return f"/compose/invoice/{invoice.id}"


def form(client, invoice, **values):
    data = {
        "csrf_token": csrf_token(client, url(invoice)),
        "template_id": str(named("Invoice reminder").id),
        "sender": "me",
        "action": "review",
        **values,
    }
    return data


def count(model):
    return db.session.scalar(db.select(db.func.count(model.id)))


def test_the_invoice_page_has_send_email(admin_client, invoice):
    page = admin_client.get(f"/documents/{invoice.id}").get_data(as_text=True)
    assert f'href="/compose/invoice/{invoice.id}"' in page and "Send e-mail" in page
    compose = admin_client.get(url(invoice)).get_data(as_text=True)
    assert "Invoice reminder" in compose and invoice.contact.email in compose
    assert "Quote follow-up" not in compose  # a template of another module
    assert "Invoice (PDF)" in compose


def test_review_names_everyone_and_writes_nothing(admin_client, invoice):
    before = count(Message)
    response = admin_client.post(
        url(invoice),
        data=form(admin_client, invoice, cc="ann@example.com", bcc="boss@example.com"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "3 people will get this e-mail" in page
    assert "ann@example.com" in page and "boss@example.com" in page
    assert invoice.contact.email in page
    assert count(Message) == before


def test_confirm_sends_with_cc_bcc_pdf_and_file(
    admin_client, invoice, smtp_app, smtp_server, run_worker_burst
):
    pdf = named("Invoice (PDF)")
    data = form(
        admin_client,
        invoice,
        cc="ann@example.com",
        bcc="boss@example.com",
        pdf_ids=str(pdf.id),
        action="send",
        nonce="abc",
    )
    data["files"] = (io.BytesIO(b"hello, terms"), "terms.txt")
    response = admin_client.post(url(invoice), data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    message = db.session.scalar(db.select(Message).order_by(Message.id.desc()))
    assert response.headers["Location"].endswith(f"/messages/{message.id}")
    assert message.cc == ["ann@example.com"] and message.bcc == ["boss@example.com"]
    assert message.attach_pdf_ids == [pdf.id]
    run_worker_burst()
    db.session.refresh(message)
    assert message.state == "sent", message.last_error
    [envelope] = smtp_server.handler.received
    assert envelope.rcpt_tos == [invoice.contact.email, "ann@example.com", "boss@example.com"]
    [received] = smtp_server.handler.messages()
    assert received["Cc"].addresses[0].addr_spec == "ann@example.com"
    assert received["Bcc"] is None and b"boss@example.com" not in envelope.original_content
    names = [a.get_filename() for a in received.iter_attachments()]
    assert names[1] == "terms.txt" and names[0].startswith("Invoice-")
    page = admin_client.get(f"/messages/{message.id}").get_data(as_text=True)
    assert "terms.txt" in page and "boss@example.com" in page
    history = admin_client.get(f"/documents/{invoice.id}").get_data(as_text=True)
    assert "Cc: ann@example.com" in history


def test_confirming_twice_sends_once(admin_client, invoice):
    data = form(admin_client, invoice, action="send", nonce="same")
    assert admin_client.post(url(invoice), data=data).status_code == 302
    assert admin_client.post(url(invoice), data=data).status_code == 302
    assert count(Message) == 1


@pytest.mark.parametrize(
    "values, problem",
    [
        ({"template_id": ""}, "Choose a template"),
        ({"cc": "not an address"}, "Cc: “not” is not an e-mail address"),
        ({"bcc": ",".join(f"p{i}@example.com" for i in range(21))}, "at most 20"),
        ({"template_id": "999999999999999999"}, "no e-mail template with id"),
        ({"send_at": "2020-01-01T09:00"}, "has passed"),
        ({"send_at": "tomorrow"}, "is not a date and time"),
        ({"sender": "nobody"}, "Choose who the e-mail is from"),
        ({"pdf_ids": "99999999999"}, "no PDF template with id"),
        ({"subject": ""}, "needs a subject"),
        ({"body": "<mjml><mj-body>{% if %}</mj-body></mjml>"}, "cannot be used"),
    ],
)
def test_bad_input_is_named_and_what_was_typed_stays(admin_client, invoice, values, problem):
    version = named("Invoice reminder").current
    data = form(admin_client, invoice, more_to="kept@example.com", based_on=str(version.id))
    data.setdefault("subject", version.subject)
    data.setdefault("body", version.source)
    data.update(values)
    response = admin_client.post(url(invoice), data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert problem in page, re.sub(r"\s+", " ", page)[:3000]
    assert 'value="kept@example.com"' in page
    assert count(Message) == 0


def test_a_template_of_another_module_is_refused(admin_client, invoice):
    quote_mail = db.session.scalar(
        db.select(Template).where(Template.kind == "email", Template.module == "quote")
    )
    data = form(admin_client, invoice, template_id=str(quote_mail.id))
    page = admin_client.post(url(invoice), data=data).get_data(as_text=True)
    assert "is made for quote records, not for a invoice" in page


def test_a_record_that_does_not_exist_is_404(admin_client, demo):
    assert admin_client.get("/compose/invoice/999999").status_code == 404
    assert admin_client.get("/compose/invoice/99999999999999999999").status_code == 404
    assert admin_client.get("/compose/product/1").status_code == 404
    assert admin_client.get("/documents/99999999999999999999").status_code == 404


def test_csrf_is_required(admin_client, invoice):
    data = form(admin_client, invoice, action="send")
    del data["csrf_token"]
    assert admin_client.post(url(invoice), data=data).status_code == 400
    assert count(Message) == 0


def test_a_marketer_may_compose_and_a_stranger_may_not(marketer_client, client, invoice):
    assert marketer_client.get(url(invoice)).status_code == 200
    assert client.get(url(invoice)).status_code in (302, 401)


def test_scheduled_in_the_users_time_zone(admin_client, invoice):
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    admin.timezone = "Europe/Amsterdam"
    db.session.commit()
    when = (utcnow() + timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    data = form(admin_client, invoice, action="send", send_at=when.strftime("%Y-%m-%dT10:00"))
    assert admin_client.post(url(invoice), data=data).status_code == 302
    message = db.session.scalar(db.select(Message))
    # 10:00 in Amsterdam is 09:00 UTC in winter, 08:00 in summer.
    assert message.next_attempt_at.hour in (8, 9) and message.state == "queued"


def test_one_off_edits_leave_the_template_alone(admin_client, invoice, smtp_app, smtp_server):
    template = named("Invoice reminder")
    version = template.current
    history = [v.number for v in template.versions]
    data = form(
        admin_client,
        invoice,
        action="send",
        based_on=str(version.id),
        subject="Just for you: {{ document.number }}",
        body=version.source.replace(
            "</mj-body>",
            "<mj-section><mj-column><mj-text>PS one-off"
            "</mj-text></mj-column></mj-section></mj-body>",
        ),
    )
    assert admin_client.post(url(invoice), data=data).status_code == 302
    message = db.session.scalar(db.select(Message))
    db.session.expire_all()
    template = named("Invoice reminder")
    assert template.current.id == version.id
    assert [v.number for v in template.versions] == history
    one_off = db.session.get(TemplateVersion, message.template_version_id)
    assert one_off.one_off_of_id == version.id and one_off.number < 0
    assert one_off.template_id == template.id
    versions_page = admin_client.get(f"/templates/{template.id}/versions").get_data(as_text=True)
    assert "Just for you" not in versions_page
    from designer import mail

    assert mail.deliver_batch([message.id])["sent"] == 1
    [received] = smtp_server.handler.messages()
    assert received["Subject"] == f"Just for you: {invoice.number}"
    assert "PS one-off" in received.get_body(("html",)).get_content()


def test_a_suppressed_record_is_refused_and_copies_named(admin_client, invoice):
    from designer import mail

    newsletter = db.session.scalar(
        db.select(Template).where(Template.module == "invoice", Template.kind == "email")
    )
    newsletter.purpose = "marketing"
    mail.suppress("ann@example.com", reason="unsubscribed")
    db.session.commit()
    data = form(admin_client, invoice, template_id=str(newsletter.id), cc="ann@example.com")
    page = admin_client.post(url(invoice), data=data).get_data(as_text=True)
    assert "ann@example.com: held back: unsubscribed" in page
    assert "1 person will get this e-mail" in page
    mail.suppress(invoice.contact.email, reason="unsubscribed")
    response = admin_client.post(url(invoice), data=data)
    assert response.status_code == 400
    assert "does not get marketing mail" in response.get_data(as_text=True)


def test_uploads_are_bounded_and_kept_between_posts(admin_client, invoice, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 10)
    data = form(admin_client, invoice, action="choose")
    data["files"] = [(io.BytesIO(b"0123456789ABC"), "big.bin"), (io.BytesIO(b"ok"), "small.txt")]
    page = admin_client.post(url(invoice), data=data, content_type="multipart/form-data")
    text = page.get_data(as_text=True)
    assert "“big.bin” is larger than" in text
    [kept] = db.session.scalars(db.select(MessageFile)).all()
    assert kept.filename == "small.txt" and f'name="file_ids" value="{kept.id}"' in text
    # Another user's file, or a made-up id, is never attached.
    again = form(admin_client, invoice, action="review", file_ids=[str(kept.id), "77777"])
    text = admin_client.post(url(invoice), data=again).get_data(as_text=True)
    assert "small.txt" in text and count(MessageFile) == 1


def test_the_preview_is_sandboxed(admin_client, invoice):
    template = named("Invoice reminder")
    response = admin_client.get(f"/compose/invoice/{invoice.id}/preview?template={template.id}")
    assert response.status_code == 200
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert invoice.number in response.get_data(as_text=True)


def test_the_text_sent_back_unchanged_is_no_one_off(admin_client, invoice):
    """Browsers send a textarea's lines ending in CRLF: that is no edit."""
    version = named("Invoice reminder").current
    data = form(
        admin_client,
        invoice,
        action="send",
        based_on=str(version.id),
        subject=version.subject,
        body=version.source.replace("\n", "\r\n"),
    )
    assert admin_client.post(url(invoice), data=data).status_code == 302
    message = db.session.scalar(db.select(Message))
    assert message.template_version_id == version.id


def test_a_starter_template_shows_its_thumbnail(admin_client, invoice):
    template = named("Invoice reminder")
    page = admin_client.get(f"{url(invoice)}?template={template.id}").get_data(as_text=True)
    assert f"/compose/templates/{template.id}/thumbnail.png" in page
    picture = admin_client.get(f"/compose/templates/{template.id}/thumbnail.png")
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")
    assert admin_client.get("/compose/templates/99999999999/thumbnail.png").status_code == 404


def test_files_never_sent_are_dropped_after_a_while(admin_client, invoice, demo):
    from werkzeug.datastructures import FileStorage

    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    old = uploads.store(FileStorage(io.BytesIO(b"old"), "old.txt"), admin)
    old.created_at = utcnow() - uploads.KEEP_UNSENT - timedelta(minutes=1)
    db.session.commit()
    uploads.store(FileStorage(io.BytesIO(b"new"), "new.txt"), admin)
    assert [f.filename for f in db.session.scalars(db.select(MessageFile))] == ["new.txt"]


def test_every_record_page_offers_send_email(admin_client, invoice):
    contact, organisation = invoice.contact, invoice.organisation
    for path, target in (
        (f"/contacts/{contact.id}", f"/compose/contact/{contact.id}"),
        (f"/organisations/{organisation.id}", f"/compose/organisation/{organisation.id}"),
    ):
        assert f'href="{target}"' in admin_client.get(path).get_data(as_text=True)
    page = admin_client.get(f"/compose/organisation/{organisation.id}").get_data(as_text=True)
    assert "no e-mail template for organisation records yet" in page


def test_a_document_without_anyone_to_mail_says_so(admin_client, invoice):
    invoice.contact_id = invoice.organisation_id = None
    db.session.commit()
    assert "no e-mail address" in admin_client.get(f"/documents/{invoice.id}").get_data(
        as_text=True
    )
    response = admin_client.post(url(invoice), data=form(admin_client, invoice))
    assert response.status_code == 400
    assert "this invoice has no e-mail address" in response.get_data(as_text=True)

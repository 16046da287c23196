"""The company logo: uploaded on Settings → Company, stored by the app, in the letterhead."""

import io

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image
from support import csrf_token, log_in

from designer import settings
from designer.extensions import db
from designer.records import Document


def png(color=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", (60, 60), color).save(buffer, format="PNG")
    return buffer.getvalue()


def images_on_first_page(pdf_bytes):
    pdf = pypdfium2.PdfDocument(pdf_bytes)
    try:
        return sum(1 for obj in pdf[0].get_objects() if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE)
    finally:
        pdf.close()


def upload(client, **fields):
    token = csrf_token(client, "/settings/company")
    data = {"name": "Northwind Relations BV", "csrf_token": token, **fields}
    return client.post("/settings/company", data=data, content_type="multipart/form-data")


def test_uploaded_logo_appears_on_the_invoice(app, client, demo):
    admin = log_in(client)
    invoice = db.session.scalar(db.select(Document).where(Document.kind == "invoice"))
    before = client.get(f"/records/invoice/{invoice.id}/pdf").data
    assert upload(admin, logo=(io.BytesIO(png()), "logo.png")).status_code == 302
    logo_url = settings.company()["logo_url"]
    assert logo_url.startswith(app.config["PUBLIC_URL"]) and "/assets/" in logo_url
    assert client.get(logo_url[len(app.config["PUBLIC_URL"]) :]).mimetype == "image/png"
    after = client.get(f"/records/invoice/{invoice.id}/pdf").data
    assert images_on_first_page(after) == images_on_first_page(before) + 1
    assert settings.company()["name"] == "Northwind Relations BV"
    upload(admin)  # saving the details again keeps the logo
    assert settings.company()["logo_url"] == logo_url
    upload(admin, remove_logo="1")
    assert settings.company()["logo_url"] == ""


def test_a_logo_that_is_not_an_image_is_refused(app, client, demo):
    admin = log_in(client)
    response = upload(admin, logo=(io.BytesIO(b"%PDF-1.4"), "logo.pdf"))
    assert response.status_code == 400 and "must be an image" in response.text
    assert settings.company()["logo_url"] == ""


def test_a_text_file_named_and_typed_as_an_image_is_refused(app, client, demo):
    admin = log_in(client)
    fake = (io.BytesIO(b"hello, I am text"), "logo.png", "image/png")
    response = upload(admin, logo=fake)
    assert response.status_code == 400
    assert "not the image/png it says it is" in response.text
    assert 'id="logo-error"' in response.text
    assert settings.company()["logo_url"] == ""


BAD_DETAILS = [
    ({"name": ""}, "name", "company name is needed"),
    ({"name": "   "}, "name", "company name is needed"),
    ({"email": "hello at northwind"}, "email", "not an e-mail address like"),
    ({"email": "hello@"}, "email", "not an e-mail address like"),
    ({"website": "not a url"}, "website", "starting with https://"),
    ({"website": "javascript:alert(1)"}, "website", "starting with https://"),
    ({"address": "Main street 1\n" * 8000}, "address", "at most 1,000 characters"),
    ({"phone": "1" * 51}, "phone", "at most 50 characters"),
    ({"vat_number": "NL\x00123"}, "vat_number", "control characters"),
]


@pytest.mark.parametrize(("fields", "field", "words"), BAD_DETAILS)
def test_bad_company_details_are_refused_next_to_the_field(client, demo, fields, field, words):
    admin = log_in(client)
    assert upload(admin, email="hello@northwind.example").status_code == 302
    before = settings.company()
    response = upload(admin, **{"phone": "+31 20 123", **fields})
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text and words in response.text
    assert "Company details saved" not in response.text
    assert settings.company() == before  # nothing saved, not even the good fields
    if field not in ("address", "phone"):  # what was typed is shown again to correct
        assert 'value="+31 20 123"' in response.text


def test_good_company_details_are_saved_trimmed(client, demo):
    admin = log_in(client)
    response = upload(
        admin,
        name="  Northwind  ",
        email="hello@northwind.example",
        website="https://northwind.example/",
        address="Main street 1\n1000 AA Amsterdam",
    )
    assert response.status_code == 302
    details = settings.company()
    assert details["name"] == "Northwind" and details["website"] == "https://northwind.example/"
    assert details["address"] == "Main street 1\n1000 AA Amsterdam"


def test_a_marketer_cannot_change_the_company_details(client, demo):
    marketer = log_in(client, "marketer@example.com")
    token = csrf_token(marketer, "/templates")
    response = marketer.post("/settings/company", data={"name": "Evil", "csrf_token": token})
    assert response.status_code in (403, 404)
    assert settings.company()["name"] != "Evil"

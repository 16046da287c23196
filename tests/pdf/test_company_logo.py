"""The company logo: uploaded on Settings → Company, stored by the app, in the letterhead."""

import io

import pypdfium2
import pypdfium2.raw as pdfium_c
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

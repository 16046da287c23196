"""Page setup per PDF template: size, orientation and margins win over the template's CSS."""

import pypdfium2
import pytest
from support import csrf_token, log_in

from designer.extensions import db
from designer.pdf import page_setup
from designer.records import Document
from designer.templating import Template

MM_PER_POINT = 25.4 / 72


def first_page_mm(pdf_bytes):
    pdf = pypdfium2.PdfDocument(pdf_bytes)
    try:
        width, height = pdf[0].get_size()
        return round(width * MM_PER_POINT), round(height * MM_PER_POINT)
    finally:
        pdf.close()


def test_letter_landscape_replaces_the_templates_a4(app, client, demo):
    admin = log_in(client)
    template = db.session.scalar(db.select(Template).where(Template.name == "Invoice (PDF)"))
    invoice = db.session.scalar(db.select(Document).where(Document.kind == "invoice"))
    url = f"/records/invoice/{invoice.id}/pdf?template={template.id}"
    assert first_page_mm(client.get(url).data) == (210, 297)  # the template's own CSS
    token = csrf_token(admin, f"/templates/{template.id}")
    saved = admin.post(
        f"/templates/{template.id}/page-setup",
        data={
            "size": "Letter",
            "orientation": "landscape",
            "margin_top_mm": "10",
            "margin_right_mm": "10",
            "margin_bottom_mm": "20",
            "margin_left_mm": "10",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 302
    assert first_page_mm(client.get(url).data) == (279, 216)
    admin.post(f"/templates/{template.id}/page-setup", data={"size": "", "csrf_token": token})
    assert first_page_mm(client.get(url).data) == (210, 297)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"size": "B7"}, "unknown page size"),
        ({"size": "custom", "width_mm": "10", "height_mm": "100"}, "page width must be from"),
        ({"size": "A4", "margin_top_mm": "abc"}, "top margin must be a number"),
        ({"size": "A4", "orientation": "diagonal"}, "portrait or landscape"),
    ],
)
def test_bad_page_setup_is_explained(form, message):
    with pytest.raises(page_setup.PageSetupInvalid, match=message):
        page_setup.validate(form)


def test_custom_size_css():
    setup = page_setup.validate(
        {"size": "custom", "width_mm": "100", "height_mm": "150", "orientation": "landscape"}
    )
    assert page_setup.page_css(setup).startswith("@page { size: 150.0mm 100.0mm;")
    assert (
        page_setup.apply("<html><head></head><body></body></html>", setup).count("<style>@page")
        == 1
    )

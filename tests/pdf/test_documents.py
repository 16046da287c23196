"""A record's PDF: merged in the recipient's locale, downloaded with a meaningful name."""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_currency
from pdf_checks import difference, invoice_in, page_image, pdf_text
from PIL import Image

from designer.extensions import db
from designer.pdf.defaults import pdf_template_for, set_default_template
from designer.pdf.documents import PdfFailed, render_record_pdf
from designer.pdf.filenames import content_disposition, pdf_filename
from designer.records import Document, User
from designer.records.models import DocumentLine
from designer.templating import Template, TemplateNotFound, create_template

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pdf"
REFERENCE = FIXTURES / "invoice-page1.png"
#: Money as each locale writes it (Babel / CLDR).
MONEY = {
    "nl": r"€ \d{1,3}(\.\d{3})*,\d{2}",
    "en": r"€\d{1,3}(,\d{3})*\.\d{2}",
    "de": r"\d{1,3}(\.\d{3})*,\d{2} €",
}


def invoice_template():
    return db.session.scalars(db.select(Template).where(Template.name == "Invoice (PDF)")).one()


def number_of(document):
    return document.number.split("-", 1)[1]


@pytest.mark.parametrize("language", ["nl", "en", "de"])
def test_download_invoice_in_the_recipients_locale(admin_client, language):
    document = invoice_in(language)
    response = admin_client.get(f"/records/invoice/{document.id}/pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="Invoice-{number_of(document)}.pdf"'
    )
    assert response.headers["Content-Language"] == language
    text = pdf_text(response.data)
    assert document.organisation.name in text
    for line in document.lines:
        assert (line.product.name if line.product else line.description)[:30] in text
    total = format_currency(document.total, "EUR", locale=language).replace("\xa0", " ")
    assert re.fullmatch(MONEY[language], total), total
    assert total in text
    assert re.search(r"Page 1 of \d", text)


def test_long_invoice_has_numbered_pages(app, demo):
    document = invoice_in("en")
    first = document.lines[0]
    for position in range(len(document.lines) + 1, 61):
        document.lines.append(
            DocumentLine(
                position=position,
                product=first.product,
                description=f"Extra line {position}",
                quantity=Decimal(2),
                unit_price=Decimal("1234.56"),
                tax_rate=Decimal(21),
            )
        )
    db.session.commit()
    admin = db.session.scalars(db.select(User).where(User.role == "admin")).first()
    rendered = render_record_pdf(invoice_template(), "invoice", document, user=admin)
    text = pdf_text(rendered.data)
    pages = int(re.search(r"Page 1 of (\d+)", text)[1])
    assert pages >= 2
    assert f"Page {pages} of {pages}" in text
    assert "€2,469.12" in text  # 2 x 1,234.56 in English


def test_locale_can_be_forced(app, demo):
    document = invoice_in("nl")
    admin = db.session.scalars(db.select(User).where(User.role == "admin")).first()
    rendered = render_record_pdf(invoice_template(), "invoice", document, user=admin, locale="en")
    assert rendered.locale == "en"
    assert format_currency(document.total, "EUR", locale="en") in pdf_text(rendered.data)


def test_page_matches_the_reference_image(app, demo, tmp_path):
    """Page 1 of a demo invoice, drawn by pdftoppm, against a stored reference picture.

    After a deliberate change to the invoice template, rewrite the reference by running
    this test once with ``UPDATE_PDF_REFERENCE=1`` (it then skips) and review the picture.
    """
    admin = db.session.scalars(db.select(User).where(User.role == "admin")).first()
    document = db.session.scalars(
        db.select(Document).where(Document.number == "INV-2026-0001")
    ).one()
    rendered = render_record_pdf(invoice_template(), "invoice", document, user=admin)
    image = page_image(rendered.data, tmp_path)
    if os.environ.get("UPDATE_PDF_REFERENCE") == "1":
        image.save(REFERENCE, optimize=True)
        pytest.skip(f"reference written to {REFERENCE}")
    with Image.open(REFERENCE) as reference:
        mean, off = difference(image, reference.convert("RGB"))
    assert mean < 2.0 and off < 0.01, (mean, off)


def test_reference_comparison_notices_a_change(app, demo, tmp_path):
    """Control: the same invoice for another organisation does not pass as the reference."""
    admin = db.session.scalars(db.select(User).where(User.role == "admin")).first()
    document = db.session.scalars(
        db.select(Document).where(Document.number == "INV-2026-0002")
    ).one()
    rendered = render_record_pdf(invoice_template(), "invoice", document, user=admin)
    with Image.open(REFERENCE) as reference:
        mean, off = difference(page_image(rendered.data, tmp_path), reference.convert("RGB"))
    assert mean >= 2.0 or off >= 0.01, (mean, off)


def test_download_needs_a_login(client, demo):
    document = invoice_in("en")
    response = client.get(f"/records/invoice/{document.id}/pdf")
    assert response.status_code in (302, 401)
    assert response.mimetype != "application/pdf"


@pytest.mark.parametrize(
    "path",
    [
        "/records/invoice/999999/pdf",
        "/records/nothing/1/pdf",
        "/records/invoice/{id}/pdf?template=999999",
        "/records/invoice/{id}/pdf?template={welcome}",
    ],
)
def test_unknown_record_or_template_is_404(admin_client, path):
    document = invoice_in("en")
    welcome = db.session.scalars(db.select(Template).where(Template.name == "Welcome")).one()
    response = admin_client.get(path.format(id=document.id, welcome=welcome.id))
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_failing_template_is_422_with_its_line(admin_client):
    admin = db.session.scalars(db.select(User).where(User.role == "admin")).first()
    broken = create_template(
        "Broken",
        "<p>fine</p>\n<p>{{ document.number | money(1, 2, 3) }}</p>",
        source_type="html",
        module="invoice",
        kind="pdf",
        user=admin,
    )
    document = invoice_in("en")
    response = admin_client.get(f"/records/invoice/{document.id}/pdf?template={broken.id}")
    assert response.status_code == 422
    assert "line 2" in response.get_data(as_text=True)


def test_organisation_page_links_its_documents(admin_client):
    document = invoice_in("nl")
    page = admin_client.get(f"/organisations/{document.organisation_id}").get_data(as_text=True)
    assert f'href="/records/invoice/{document.id}/pdf"' in page
    assert "Download PDF" in page


def test_default_template_per_module_and_language(app, demo):
    admin = db.session.scalars(db.select(User).where(User.role == "admin")).first()
    source = invoice_template().current.source
    dutch = create_template(
        "Factuur", source, source_type="html", module="invoice", kind="pdf", user=admin
    )
    assert pdf_template_for("invoice", language="nl") == invoice_template()
    set_default_template(dutch, "nl")
    assert pdf_template_for("invoice", language="nl") == dutch
    assert pdf_template_for("invoice", language="de") == invoice_template()
    assert pdf_template_for("invoice", template_id=invoice_template().id) == invoice_template()
    with pytest.raises(TemplateNotFound):
        pdf_template_for("product")


def test_merge_error_names_the_line(app, demo):
    admin = db.session.scalars(db.select(User).where(User.role == "admin")).first()
    template = create_template(
        "Loop",
        "<p>a</p>\n<p>b</p>\n{{ 1 / 0 }}",
        source_type="html",
        module="invoice",
        kind="pdf",
        user=admin,
    )
    with pytest.raises(PdfFailed) as failed:
        render_record_pdf(template, "invoice", invoice_in("en"), user=admin)
    assert failed.value.line == 3


class Record:
    def __init__(self, kind=None, number="", id=7):
        self.kind, self.number, self.id = kind, number, id


@pytest.mark.parametrize(
    "name, module, record, expected",
    [
        ("Invoice (PDF)", "invoice", Record("invoice", "INV-2026-0042"), "Invoice-2026-0042.pdf"),
        ("Invoice (PDF)", "invoice", Record("invoice", "2026-0042"), "Invoice-2026-0042.pdf"),
        ("Quotation", "quote", Record("quote", "QUO-2026-0017"), "Quote-2026-0017.pdf"),
        ("Order", "invoice", Record("sales_order", "SO-7"), "Sales-order-7.pdf"),
        ("Business letter (PDF)", "contact", Record(id=12), "Business-letter-(PDF)-contact-12.pdf"),
        ('../../etc/"x"', "contact", Record(id=3), "etc-x-contact-3.pdf"),
        ("Brief für Müller", "contact", Record(id=4), "Brief-für-Müller-contact-4.pdf"),
    ],
)
def test_pdf_filename(name, module, record, expected):
    assert pdf_filename(name, module, record) == expected


def test_content_disposition_has_an_ascii_fallback():
    assert content_disposition("Invoice-1.pdf") == 'attachment; filename="Invoice-1.pdf"'
    assert content_disposition("Brief-für-Müller.pdf") == (
        'attachment; filename="Brief-fur-Muller.pdf"; '
        "filename*=UTF-8''Brief-f%C3%BCr-M%C3%BCller.pdf"
    )

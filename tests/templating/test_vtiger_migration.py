"""PDF Maker and EMAIL Maker templates migrated: rendered for real records, reported in full."""

import io
import re
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from designer.extensions import db
from designer.pdf.documents import render_record_pdf
from designer.records import Document, recipient_of
from designer.records.models import DocumentLine
from designer.settings import set_company
from designer.templating import Template, TemplateInvalid
from designer.templating.importer import import_path
from designer.templating.labels import LabelsInvalid, labels_for, parse_labels
from designer.templating.preview import preview_html
from designer.templating.versions import lint
from designer.templating.vtiger import import_vtiger, migrate, unconverted_in
from designer.templating.vtiger_convert import convert
from designer.templating.vtiger_export import parse_export

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vtiger"
PDF_EXPORT = FIXTURES / "pdfmaker-export.xml"
EMAIL_EXPORT = FIXTURES / "emailmaker-export.xml"
CORE_INVOICE = FIXTURES / "vtiger-core-invoice.html"
RAW_TOKEN = re.compile(r"\$[A-Z][A-Z_]+\$|%[GM]_[^%]+%|#[A-Z_]+#")


def pdf_text(pdf, page=None):
    pages = ["-f", str(page), "-l", str(page)] if page else []
    text = subprocess.run(
        ["pdftotext", *pages, "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def invoice_for(language, kind="invoice"):
    query = db.select(Document).where(Document.kind == kind).order_by(Document.id)
    for document in db.session.scalars(query):
        if recipient_of(kind, document).language == language and len(document.lines) > 1:
            return document
    raise AssertionError(f"the demo has no {kind} in {language}")


def imported(name):
    return db.session.scalars(db.select(Template).where(Template.name == name)).one()


@pytest.fixture
def pdf_templates(demo):
    set_company(
        {
            "name": "Designer BV",
            "address": "Keizersgracht 1, 1015 CJ Amsterdam",
            "phone": "+31 20 555 0100",
            "website": "https://designer.example",
        }
    )
    created = import_vtiger(PDF_EXPORT, user=demo_admin())
    return {template.name: (template, report) for template, _, report in created}


def demo_admin():
    from designer.records import User

    return db.session.scalars(db.select(User).where(User.role == "admin")).first()


def amount(value, decimal=",", group="."):
    whole, _, cents = f"{Decimal(value):,.2f}".partition(".")
    return whole.replace(",", group) + decimal + cents


def test_pdfmaker_invoice_renders_with_values_labels_header_and_footer(pdf_templates):
    template, report = pdf_templates["Invoice with group tax"]
    assert template.kind == "pdf" and template.module == "invoice"
    assert template.page_setup == {
        "size": "A4",
        "orientation": "portrait",
        "margin_top_mm": 35.0,
        "margin_right_mm": 15.0,
        "margin_bottom_mm": 25.0,
        "margin_left_mm": 15.0,
    }
    document = invoice_for("de")
    rendered = render_record_pdf(template, "invoice", document, user=demo_admin())
    text = pdf_text(rendered.data)
    assert rendered.locale == "de"
    assert f"Rechnungsnr. {document.number}" in text  # header: label in German + number
    assert document.organisation.name in text
    assert "Designer BV" in text and "Keizersgracht 1" in text
    for line in document.lines:
        assert line.product.name[:20] in text if line.product else line.description[:20] in text
    assert amount(document.total) in text  # German separators, 2 decimals, no sign
    assert amount(document.subtotal) in text and amount(document.tax_total) in text
    assert "Menge" in text and "Rabatt" in text and "Gesamtbetrag (EUR)" in text
    assert "Seite 1/1" in text  # footer with page numbers
    assert "Ada" in text or demo_admin().name in text  # the user making the PDF
    left = set(RAW_TOKEN.findall(text))
    expected = {"$INVOICE_BILL_STATE$", "$COMPANY_FAX$", "$PRODUCTUSAGEUNIT$"}
    assert left == expected | {"$INVOICE_HDNGRANDTOTAL$"}  # inside the custom function
    assert all(any(token in entry.token for entry in report.unconverted) for token in left)


def test_running_header_and_footer_repeat_on_every_page(pdf_templates):
    template, _ = pdf_templates["Invoice with group tax"]
    document = invoice_for("en")
    first = document.lines[0]
    for position in range(len(document.lines) + 1, 70):
        document.lines.append(
            DocumentLine(
                position=position,
                product=first.product,
                description=f"Extra {position}",
                quantity=Decimal(1),
                unit_price=Decimal("10.00"),
                tax_rate=Decimal(21),
            )
        )
    db.session.commit()
    pdf = render_record_pdf(template, "invoice", document, user=demo_admin()).data
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
    pages = int(re.search(rb"Pages:\s+(\d+)", info.stdout).group(1))
    assert pages >= 2
    for page in (1, pages):
        text = pdf_text(pdf, page)
        assert f"Invoice no. {document.number}" in text
        assert f"Page {page}/{pages}" in text


def test_individual_tax_quote_lands_on_quotes_in_landscape(pdf_templates):
    template, report = pdf_templates["Quote with individual tax"]
    assert template.module == "quote" and template.page_setup["orientation"] == "landscape"
    document = invoice_for("en", "quote")
    pdf = render_record_pdf(template, "quote", document, user=demo_admin()).data
    text = pdf_text(pdf)
    assert f"Quote {document.number}" in text
    line = document.lines[0]
    assert f"{line.tax_rate:.0f} %" in text or f"{line.tax_rate} %" in text
    assert f"{line.net + line.tax:,.3f}" in text  # 3 decimals as PDF Maker was set
    assert f"{document.total:,.3f}" in text
    reasons = {entry.token: entry.reason for entry in report.unconverted}
    assert "opportunities" in reasons["$QUOTES_POTENTIAL_ID$"]


def test_sales_order_says_where_it_lands_and_loops_inventory_and_tax_groups(pdf_templates):
    template, report = pdf_templates["Sales order"]
    assert template.module == "invoice"
    assert any("no sales orders" in note for note in report.notes)
    assert template.page_setup["size"] == "custom" and template.page_setup["height_mm"] == 148
    document = invoice_for("en")
    text = pdf_text(render_record_pdf(template, "invoice", document, user=demo_admin()).data)
    for rate, lines in _by_rate(document).items():
        assert f"{rate:.0f} %" in text or f"{rate} %" in text
        assert f"{sum(line.tax for line in lines):,.2f}" in text
    related = [e for e in report.unconverted if e.token.startswith("#RELATED_BLOCK")]
    assert len(related) == 2 and "definition" in related[0].reason
    assert "#RELATED_BLOCK_4_START#" in text  # left, reported and flagged


def _by_rate(document):
    groups = {}
    for line in document.lines:
        groups.setdefault(line.tax_rate, []).append(line)
    return groups


def test_lint_flags_every_raw_vtiger_token_of_a_migrated_template(pdf_templates):
    template, report = pdf_templates["Invoice with group tax"]
    warnings = [str(w) for w in lint(template, template.current.source)]
    flagged = {w.split(": ", 1)[1].split(" is a vtiger")[0] for w in warnings if "vtiger" in w}
    assert flagged == {entry.token for entry in report.unconverted}
    assert not [w for w in warnings if "unknown merge field" in w]


def test_vtiger_core_pdf_template_with_vtranslate(people, demo):
    [(template, _, report)] = import_vtiger(
        CORE_INVOICE, user=demo_admin(), kind="pdf", name="Core invoice"
    )
    assert (template.name, template.kind, template.module) == ("Core invoice", "pdf", "invoice")
    document = invoice_for("nl")
    text = pdf_text(render_record_pdf(template, "invoice", document, user=demo_admin()).data)
    assert f"Factuur {document.number}" in text
    assert "vtranslate" not in text
    assert {e.token for e in report.unconverted} == {"$contact_name$", "$support_team$"}


def test_emailmaker_invoice_mail_lists_lines_in_the_recipients_language(demo):
    created = import_vtiger(EMAIL_EXPORT, user=demo_admin())
    invoice_mail = next(t for t, _, _ in created if t.module == "invoice")
    document = invoice_for("de")
    rendered = preview_html(invoice_mail, document, demo_admin())
    assert rendered.subject.startswith(f"Rechnung {document.number} is due on ")
    for line in document.lines:
        assert (line.product.name if line.product else line.description) in rendered.html
    assert amount(document.total) in rendered.html


def test_product_block_needs_a_document_and_a_partner():
    text = "<table><tr><td>#PRODUCTBLOC_START#</td></tr><tr><td>$PRODUCTNAME$</td></tr></table>"
    result = convert(text, module="invoice")
    assert {u.variable for u in result.unmapped} == {"#PRODUCTBLOC_START#", "$PRODUCTNAME$"}
    assert "no matching" in result.unmapped[0].reason
    contact = convert(text + "#PRODUCTBLOC_END#", module="contact")
    assert all("no document lines" in u.reason for u in contact.unmapped if "#" in u.variable)


def test_page_numbers_convert_in_header_and_footer_and_are_reported_in_the_body():
    text = "<p>Page ##PAGE## of ##PAGES##</p>"
    footer = convert(text, "footer", module="invoice", kind="pdf")
    assert not footer.unmapped and "vt-page-number" in footer.text
    body = convert("<p>Intro</p>\n" + text, module="invoice", kind="pdf")
    assert [(u.variable, u.line) for u in body.unmapped] == [("##PAGE##", 2), ("##PAGES##", 2)]
    assert all("only in the header or footer" in u.reason for u in body.unmapped)
    assert "##PAGE##" in body.text  # left as it was, and flagged in the editor:
    assert [leftover.token for leftover in unconverted_in(body.text)] == ["##PAGE##", "##PAGES##"]


def test_core_placeholders_and_custom_functions_are_reported_with_their_line():
    text = (
        "Dear $contact_name$,\nuser $login_name$ at $URL$\n"
        "[CUSTOMFUNCTION|its4you_if|1|=|1|x|CUSTOMFUNCTION]"
    )
    result = convert(text)
    assert [(u.variable, u.line) for u in result.unmapped] == [
        ("$contact_name$", 1),
        ("$URL$", 2),
        ("$login_name$", 2),
        ("[CUSTOMFUNCTION|its4you_if|1|=|1|x|CUSTOMFUNCTION]", 3),
    ]
    assert result.text == text


def test_zip_of_many_exports_and_html_imports_them_all(demo, tmp_path):
    archive = tmp_path / "templates.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(PDF_EXPORT, "pdf/export.xml")
        bundle.write(EMAIL_EXPORT, "mail/export.xml")
        bundle.write(CORE_INVOICE, "core/invoice.html")
        bundle.writestr("__MACOSX/._invoice.html", b"\0")
        bundle.writestr("readme.txt", "skipped")
    result = import_path(archive, user=demo_admin())
    assert len(result.templates) == 6 and len(result.reports) == 6
    assert any("$contact_name$" in warning for warning in result.warnings)


def test_broken_zip_and_oversized_zip_are_refused(app, tmp_path, monkeypatch):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(TemplateInvalid):
        import_path(broken)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as bundle:
        bundle.writestr("notes.txt", "nothing here")
    with pytest.raises(TemplateInvalid, match=r"no \.xml exports or \.html templates"):
        import_path(empty)
    assert db.session.scalar(db.select(db.func.count(Template.id))) == 0


def test_cli_import_honours_kind_and_name_and_reports_on_stderr(runner, demo, tmp_path):
    result = runner.invoke(
        args=["template", "import", str(CORE_INVOICE), "--kind", "pdf", "--name", "Factuur"]
    )
    assert result.exit_code == 0, result.output
    template = imported("Factuur")
    assert template.kind == "pdf" and template.module == "invoice"
    assert result.stdout.strip() == str(template.id)
    assert "NOT CONVERTED line" in result.stderr and "$contact_name$" in result.stderr
    assert "→ {{ document.number }}" in result.stderr


def test_labels_pick_the_recipients_language_and_fall_back():
    labels = {"en": {"Qty": "Qty", "Only": "only en"}, "de": {"Qty": "Menge"}}
    assert labels_for(labels, "de-AT")["Qty"] == "Menge"
    assert labels_for(labels, "de")["Only"] == "only en"
    assert labels_for(labels, "fr")["Qty"] == "Qty"
    assert labels_for(labels, "nl")["Missing"] == "Missing"
    assert parse_labels('{"EN": {"a": 1}}') == {"en": {"a": "1"}}
    for bad in ("[1]", '{"en": []}', '{"en": {"a": {"b": 1}}}', "{", '{"e n!": {}}'):
        with pytest.raises(LabelsInvalid):
            parse_labels(bad)


def test_export_settings_survive_odd_values():
    [template] = [
        t
        for t in parse_export(
            b"<export><template><type>PDFMaker</type><templatename>x</templatename>"
            b"<module>Invoice</module><settings><format>B7</format><margins><top>99</top>"
            b"</margins><decimals><decimals>x</decimals></decimals></settings>"
            b"<body>&lt;p&gt;$INVOICE_INVOICE_NO$&lt;/p&gt;</body></template></export>"
        )
    ]
    migration = migrate(template)
    assert migration.page_setup == {}
    assert any("B7" in note for note in migration.report.notes)
    assert "{{ document.number }}" in migration.source


def test_import_page_shows_the_report_to_a_marketer(marketer_client):
    from support import csrf_token

    token = csrf_token(marketer_client, "/templates/import")
    with PDF_EXPORT.open("rb") as upload:
        response = marketer_client.post(
            "/templates/import",
            data={"csrf_token": token, "file": (io.BytesIO(upload.read()), "export.xml")},
            content_type="multipart/form-data",
        )
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:500]
    assert "Import report" in page
    assert "Invoice with group tax" in page and "Sales order" in page
    assert "$INVOICE_INVOICE_NO$" in page and "document.number" in page
    assert "$PRODUCTUSAGEUNIT$" in page and "no unit of measure" in page
    assert "no sales orders" in page


def test_labels_page_edits_the_dictionary(admin_client, pdf_templates):
    from support import csrf_token

    template, _ = pdf_templates["Invoice with group tax"]
    url = f"/templates/{template.id}/labels"
    page = admin_client.get(url)
    assert page.status_code == 200 and "Rechnungsnr." in page.get_data(as_text=True)
    token = csrf_token(admin_client, url)
    bad = admin_client.post(url, data={"csrf_token": token, "labels": '{"en": '})
    assert bad.status_code == 400 and "not valid JSON" in bad.get_data(as_text=True)
    assert imported("Invoice with group tax").labels["de"]["Invoice No"] == "Rechnungsnr."
    good = admin_client.post(
        url, data={"csrf_token": token, "labels": '{"en": {"Invoice No": "Bill"}}'}
    )
    assert good.status_code == 302
    assert imported("Invoice with group tax").labels == {"en": {"Invoice No": "Bill"}}


def test_barcodes_and_the_template_name_are_reported_not_printed():
    text = "<p>[BARCODE|EAN13=$INVOICE_INVOICE_NO$|BARCODE]</p>\n<p>#TEMPLATE_NAME#</p>"
    result = convert(text, module="invoice", vtiger_module="Invoice", kind="pdf")
    assert [(u.variable, u.line) for u in result.unmapped] == [
        ("[BARCODE|EAN13=$INVOICE_INVOICE_NO$|BARCODE]", 1),
        ("#TEMPLATE_NAME#", 2),
    ]
    assert "barcode" in result.unmapped[0].reason
    assert [leftover.token for leftover in unconverted_in(result.text)] == [
        "[BARCODE|EAN13=$INVOICE_INVOICE_NO$|BARCODE]",
        "#TEMPLATE_NAME#",
    ]

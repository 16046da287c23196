"""The PDF editor's page preview, and the ``designer pdf`` and ``template import`` commands."""

import io
import re

from pdf_checks import invoice_in, pdf_text
from PIL import Image
from support import csrf_token, run_designer

from designer.extensions import db
from designer.templating import Template


def invoice_template():
    return db.session.scalars(db.select(Template).where(Template.name == "Invoice (PDF)")).one()


def test_editor_of_a_pdf_template_shows_the_page_preview(admin_client):
    template = invoice_template()
    page = admin_client.get(f"/templates/{template.id}").get_data(as_text=True)
    assert f"/templates/{template.id}/pdf-preview?record=invoice" in page
    assert f'data-pdf-preview-url="/api/v1/templates/{template.id}/pdf-preview"' in page
    assert "js/pdf-preview.js" in page
    assert "Send to contact" not in page


def test_preview_page_is_a_png(admin_client):
    template, document = invoice_template(), invoice_in("nl")
    response = admin_client.get(
        f"/templates/{template.id}/pdf-preview?record=invoice:{document.id}&page=2"
    )
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.width == 800 and image.height > 1100  # A4 is 1.41 times as tall as wide
    assert int(response.headers["X-Page-Count"]) >= 1


def test_preview_of_unsaved_source_and_its_errors(admin_client):
    template, document = invoice_template(), invoice_in("en")
    token = csrf_token(admin_client, f"/templates/{template.id}")
    url = f"/api/v1/templates/{template.id}/pdf-preview"
    good = admin_client.post(
        url,
        json={"source": "<h1>{{ organisation.name }}</h1>", "record_id": document.id},
        headers={"X-CSRFToken": token},
    )
    assert good.status_code == 200, good.get_data(as_text=True)
    assert good.json["pages"] == 1 and good.json["image"].startswith("data:image/png;base64,")
    assert good.json["filename"].endswith(".pdf")
    bad = admin_client.post(
        url,
        json={"source": "<p>\n{{ organisation.name | nope }}</p>", "record_id": document.id},
        headers={"X-CSRFToken": token},
    )
    assert bad.status_code == 422
    assert bad.json["error"]["details"]["line"] == 2
    saved = admin_client.post(
        url, json={"record_id": document.id, "page": 99}, headers={"X-CSRFToken": token}
    )
    assert saved.json["page"] == saved.json["pages"]  # past the last page: the last


def test_preview_for_a_record_of_another_module_is_404(admin_client):
    response = admin_client.get(f"/templates/{invoice_template().id}/pdf-preview?record=contact:1")
    assert response.status_code == 404


def test_cli_renders_a_pdf(app, demo, tmp_path):
    db.session.commit()
    document = invoice_in("de")
    output = tmp_path / "out.pdf"
    result = run_designer(
        app,
        "pdf",
        str(invoice_template().id),
        "--record",
        f"invoice:{document.id}",
        "-o",
        str(output),
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf"{re.escape(str(output))} \(\d+ pages?\)", result.stdout.strip())
    assert document.organisation.name in pdf_text(output.read_bytes())


def test_cli_bad_input_is_one_line_exit_2(app, demo, tmp_path):
    db.session.commit()
    welcome = db.session.scalars(db.select(Template).where(Template.name == "Welcome")).one()
    invoice = invoice_template().id
    for args in [
        (str(invoice), "--record", "invoice:999999"),
        (str(invoice), "--record", "contact:1"),
        (str(welcome.id), "--record", "invoice:1"),
        ("999999", "--record", "invoice:1"),
        (str(invoice), "--record", "bogus"),
    ]:
        result = run_designer(app, "pdf", *args, "-o", str(tmp_path / "x.pdf"))
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("designer: error: ")


def test_import_pdf_template_and_render_it(app, demo, tmp_path):
    db.session.commit()
    source = tmp_path / "packing-slip.html"
    source.write_text(
        "<style>@page { size: A5 }</style><h1>Packing slip {{ invoice.number }}</h1>",
        encoding="utf-8",
    )
    imported = run_designer(app, "template", "import", str(source), "--kind", "pdf")
    assert imported.returncode == 0, imported.stderr
    template = db.session.get(Template, int(imported.stdout.strip()))
    assert (template.kind, template.module, template.name) == ("pdf", "invoice", "Packing Slip")
    document = invoice_in("en")
    output = tmp_path / "slip.pdf"
    result = run_designer(
        app, "pdf", str(template.id), "--record", f"invoice:{document.id}", "-o", str(output)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("(1 page)")
    assert f"Packing slip {document.number}" in pdf_text(output.read_bytes())

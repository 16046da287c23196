"""Batch PDF export through the real queue: zip or merged, failures named, progress shown."""

import io
import zipfile

import pypdfium2
import pytest
from support import csrf_token, log_in

from designer.extensions import db
from designer.pdf import exports
from designer.pdf.models import PdfExport
from designer.records.models import Document, User


@pytest.fixture
def admin(demo):
    return db.session.scalar(db.select(User).where(User.role == "admin"))


def invoices(n):
    return db.session.scalars(
        db.select(Document).where(Document.kind == "invoice").order_by(Document.id).limit(n)
    ).all()


def finished(export_id):
    db.session.expire_all()
    return db.session.get(PdfExport, export_id)


def test_zip_export_names_the_record_that_failed(app, admin, run_worker_burst):
    chosen = invoices(12)
    missing = 999_999
    export = exports.start_export(admin, "invoice", [d.id for d in chosen] + [missing])
    run_worker_burst()
    export = finished(export.id)
    assert export.state == "done" and export.rendered == 12 and export.failed == 1
    archive = zipfile.ZipFile(io.BytesIO(export.result))
    names = archive.namelist()
    assert len([n for n in names if n.endswith(".pdf")]) == 12 and "errors.txt" in names
    assert f"invoice {missing}" in archive.read("errors.txt").decode()
    progress = exports.progress(export)
    assert progress["percent"] == 100.0 and progress["failures"][0]["record"].endswith(str(missing))


def test_merged_export_keeps_the_order(app, admin, run_worker_burst):
    chosen = invoices(3)
    export = exports.start_export(
        admin, "invoice", [d.id for d in reversed(chosen)], packing="merged"
    )
    run_worker_burst()
    export = finished(export.id)
    pdf = pypdfium2.PdfDocument(export.result)
    first_page = pdf[0].get_textpage().get_text_range()
    pdf.close()
    assert chosen[-1].number in first_page and export.filename.endswith(".pdf")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("invoice", []), "nothing to export"),
        (("invoice", ["x"]), "must be numbers"),
        (("nope", [1]), "unknown module"),
    ],
)
def test_bad_exports_are_refused_clearly(app, admin, args, message):
    with pytest.raises(exports.ExportInvalid, match=message):
        exports.start_export(admin, *args)


def test_export_pages_and_api(app, client, admin, run_worker_burst):
    user = log_in(client)
    page = user.get("/exports/new?module=invoice")
    assert page.status_code == 200 and "Export" in page.text
    token = csrf_token(user, "/exports/new")
    ids = [d.id for d in invoices(2)]
    started = user.post(
        "/exports/new",
        data={
            "module": "invoice",
            "action": "export",
            "record": [str(i) for i in ids],
            "csrf_token": token,
        },
    )
    assert started.status_code == 302
    export_id = int(started.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert user.get(f"/exports/{export_id}").status_code == 200
    assert user.get(f"/exports/{export_id}/download").status_code == 409  # not finished
    run_worker_burst()
    assert (
        f'data-progress-url="/api/v1/exports/{export_id}"' in user.get(f"/exports/{export_id}").text
    )
    body = user.get(f"/api/v1/exports/{export_id}").get_json()
    assert body["download"] and body["rendered"] == 2
    assert body["download_url"] == f"/exports/{export_id}/download"
    download = user.get(f"/exports/{export_id}/download")
    assert download.mimetype == "application/zip"
    assert "attachment" in download.headers["Content-Disposition"]
    bad = user.post(
        "/api/v1/exports",
        json={"module": "invoice", "record_ids": []},
        headers={"X-CSRFToken": token},
    )
    assert bad.status_code == 422 and "nothing to export" in bad.get_json()["error"]["message"]
    again = user.post(
        "/api/v1/exports",
        json={"module": "invoice", "record_ids": ids},
        headers={"X-CSRFToken": token},
    )
    assert again.status_code == 202 and again.get_json()["state"] == "queued"
    assert again.get_json()["download_url"] is None

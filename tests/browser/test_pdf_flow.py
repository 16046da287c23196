"""PDFs as a new user tries them, in a real Chromium against ``designer serve``.

Download an invoice PDF from an organisation page, then export a batch of
invoices, watch the progress bar finish and download the zip.
"""

import io
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_demo_flow import log_in

pytestmark = pytest.mark.browser


def test_download_an_invoice_and_export_a_batch(page, served, tmp_path):
    log_in(page, served)
    page.click("nav >> text=Organisations")
    page.locator("table a").first.click()
    button = page.locator("a", has_text="Download PDF").first
    if not button.count():  # the first organisation may have no documents: find one that has
        page.click("nav >> text=Organisations")
        for index in range(page.locator("table tbody tr a").count()):
            page.locator("table tbody tr a").nth(index).click()
            if page.locator("a", has_text="Download PDF").count():
                break
            page.go_back()
        button = page.locator("a", has_text="Download PDF").first
    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    got = path.read_bytes()
    assert download.suggested_filename.endswith(".pdf"), got[:2000]
    assert got.startswith(b"%PDF-")

    page.click("nav >> text=PDF export")
    expect(page.locator("h1")).to_have_text("Export PDFs")
    page.locator("button", has_text="Export ").click()
    expect(page.locator("#export-state")).to_have_text("done", timeout=120_000)
    expect(page.locator("#export-download")).to_be_visible()
    with page.expect_download() as download_info:
        page.locator("#export-download a").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert any(name.endswith(".pdf") for name in archive.namelist())

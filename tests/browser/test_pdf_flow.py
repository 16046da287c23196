"""PDFs as a new user tries them, in a real Chromium against ``designer serve``.

Download an invoice PDF from an organisation page, then export a batch of
invoices, watch the progress bar finish and download the zip.
"""

import io
import re
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
    # The link's answer, as the browser gets it when it downloads (the status, the file
    # name it would save under and the bytes say what went wrong if anything does).
    href = button.get_attribute("href")
    response = page.request.get(href if href.startswith("http") else served.url + href)
    body = response.body()
    assert response.status == 200, re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", body.decode(errors="replace"))
    )[-1500:]
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and ".pdf" in disposition
    assert body.startswith(b"%PDF-")
    (tmp_path / "invoice.pdf").write_bytes(body)

    page.click("nav >> text=PDF export")
    expect(page.locator("h1")).to_have_text("Export PDFs")
    page.locator("button", has_text="Export ").click()
    expect(page.locator("#export-state")).to_have_text("done", timeout=120_000)
    expect(page.locator("#export-download")).to_be_visible()
    with page.expect_download() as download_info:
        page.locator("#export-download a").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert any(name.endswith(".pdf") for name in archive.namelist())

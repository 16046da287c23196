"""Importing vtiger templates in a real Chromium, on a phone and on a laptop screen.

A marketer uploads a PDF Maker export, reads the report (what each token became
and what was not converted, with the line and why), opens the labels of a
migrated template; at 390 px and at 1366 px nothing on those pages is wider
than the window.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

EXPORT = Path(__file__).parent.parent / "fixtures" / "vtiger" / "pdfmaker-export.xml"


def page_overflow(page):
    """How many pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


@pytest.mark.parametrize("width", [390, 1366])
def test_import_a_pdfmaker_export_and_read_the_report(browser, served, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{served.url}/login")
        page.fill("input[name=email]", "marketer@example.com")
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Templates")
        page.goto(f"{served.url}/templates/import")
        assert page_overflow(page) <= 0
        page.set_input_files("#file", str(EXPORT))
        page.click("form.card button[type=submit]")
        expect(page.locator("h1")).to_have_text("Import report")
        report = page.locator("section.card", has_text="Invoice with group tax").first
        expect(report).to_contain_text("Not converted")
        expect(report).to_contain_text("CUSTOMFUNCTION")
        expect(page.locator("body")).to_contain_text("no sales orders")
        assert page_overflow(page) <= 0, "the report is wider than the window"
        report.locator("summary", has_text="Converted").click()
        expect(report).to_contain_text("document.number")
        assert page_overflow(page) <= 0, "the converted tokens are wider than the window"
        report.locator("a", has_text="Labels").click()
        expect(page.locator("h1")).to_contain_text("Labels")
        assert page_overflow(page) <= 0, "the labels page is wider than the window"
    finally:
        context.close()

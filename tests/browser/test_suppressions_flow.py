"""The Suppressions page in a real Chromium, on a phone (390 px) and a laptop (1366 px):
add an address with a reason, see it listed, remove it after the confirmation, and find both
changes in the audit list."""

import pytest
from playwright.sync_api import expect
from test_demo_flow import log_in, menu_click

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [390, 1366])
def test_add_then_remove_an_address(browser, served, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    address = f"browser-{width}@example.com"
    try:
        log_in(page, served)
        menu_click(page, "Suppressions")
        expect(page.locator("h1")).to_have_text("Suppressions")

        page.fill("#addresses", address.upper())
        page.select_option("#add-reason", "complained")
        page.fill("#add-note", "asked by phone")
        page.click("button:has-text('Add to the list')")
        expect(page.locator(".flash-success")).to_contain_text("Added 1 address")
        row = page.locator("#suppression-list tr", has_text=address)
        expect(row).to_contain_text("Complained")
        expect(row).to_contain_text("marketer@example.com")
        assert _fits(page, width)

        row.get_by_role("link", name=f"Remove {address}").click()
        expect(page.locator("#remove-meaning")).to_contain_text(
            f"{address} will get marketing mail again"
        )
        assert _fits(page, width)
        page.fill("#note", "asked to be resubscribed")
        page.click("button:has-text('Remove and resubscribe')")
        expect(page.locator(".flash-success")).to_have_text(
            f"Removed {address}: it gets marketing mail again."
        )
        expect(page.locator("#suppression-list tr", has_text=address)).to_have_count(0)
        audit = page.locator("#audit-list tbody tr", has_text=address)
        expect(audit.nth(0)).to_contain_text("Removed")
        expect(audit.nth(0)).to_contain_text("asked to be resubscribed")
        expect(audit.nth(1)).to_contain_text("Added")
    finally:
        context.close()


def _fits(page, width):
    """Nothing sticks out sideways: the page scrolls only down (tables scroll in their box)."""
    return page.evaluate("document.documentElement.scrollWidth") <= width

"""A marketer makes a template transactional in the editor's settings, at phone and desktop
widths, and sees it in the template list; the settings never grow wider than the screen."""

import pytest
from playwright.sync_api import expect
from test_demo_flow import log_in

pytestmark = pytest.mark.browser


def fits(locator):
    return locator.evaluate("e => e.getBoundingClientRect().right <= window.innerWidth")


@pytest.mark.parametrize("width", [390, 1366])
def test_set_a_template_transactional_and_back(page, served, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, served)
    page.locator(".library a", has_text="Monthly newsletter").click()
    settings = page.locator(".purpose-card")
    expect(settings).to_contain_text("held back only when the address does not exist")
    expect(settings.locator("input[value=marketing]")).to_be_checked()
    assert fits(settings) and fits(settings.locator("button"))

    settings.locator("input[value=transactional]").check()
    settings.locator("button", has_text="Save setting").click()
    expect(page.locator(".flash")).to_contain_text("now sends transactional mail")
    expect(page.locator(".purpose-card input[value=transactional]")).to_be_checked()

    page.goto(f"{served.url}/templates")
    row = page.locator(".library-card", has_text="Monthly newsletter")
    expect(row.locator(".purpose")).to_have_text("Transactional")

    row.locator("a", has_text="Monthly newsletter").click()  # the shared product as it was
    page.locator(".purpose-card input[value=marketing]").check()
    page.locator(".purpose-card button").click()
    expect(page.locator(".flash")).to_contain_text("now sends marketing mail")

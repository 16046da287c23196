"""Mail to other people asks first, in a real Chromium on a phone (390 px) and a laptop
(1366 px): the editor's "Send to contact" names the contact and address, a campaign's
"Start now" names how many contacts; cancelling sends nothing."""

import re

import pytest
from playwright.sync_api import expect
from test_demo_flow import log_in

pytestmark = pytest.mark.browser


def test_send_to_contact_asks_first_and_cancel_sends_nothing(sized, served):
    page, width = sized
    log_in(page, served)
    page.click("text=Welcome")
    expect(page.locator("#send-heading")).to_have_text("Send to a contact")
    email = re.search(r"<([^>]+)>", page.locator("#send-contact-query").input_value()).group(1)
    page.click("text=Send to contact")
    expect(page.locator("h1")).to_contain_text("Send to")
    expect(page.locator("#send-meaning")).to_contain_text(email)
    assert fits(page, width)
    page.click("text=Cancel: send nothing")
    expect(page.locator("#send-heading")).to_be_visible()
    expect(page.locator(".flash-success")).to_have_count(0)


def test_start_now_names_the_count_and_cancel_sends_nothing(sized, served):
    page, width = sized
    log_in(page, served)
    page.goto(f"{served.url}/campaigns/new")
    page.fill("#name", f"Confirm at {width}")
    page.click("text=Save draft")
    expect(page.locator("#progress-not-started")).to_contain_text("Not started")
    expect(page.locator("#progress-percent")).to_be_hidden()
    assert fits(page, width)
    page.click("button:has-text('Start now')")
    expect(page.locator("h1")).to_have_text(re.compile(r"^Send to \d+ contacts? now\?$"))
    count = page.locator("#start-recipients").inner_text()
    expect(page.locator("main button.button-primary")).to_have_text(f"Send to {count} contacts now")
    assert fits(page, width)
    page.click("text=Cancel: send nothing")
    expect(page.locator("#campaign-state")).to_have_text("draft")


def fits(page, width):
    """The page scrolls only down."""
    return page.evaluate("document.documentElement.scrollWidth") <= width

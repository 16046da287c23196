"""Admin forms refuse bad input next to the field, in a real Chromium on a phone (390 px)
and a laptop (1366 px): company details and the sender address; nothing is saved."""

import pytest
from playwright.sync_api import expect
from test_confirmations import fits
from test_demo_flow import log_in

pytestmark = pytest.mark.browser


def test_company_details_refuse_bad_input_next_to_the_field(sized, served):
    page, width = sized
    log_in(page, served, "admin@example.com")
    page.goto(f"{served.url}/settings/company")
    page.fill("#email", "")
    page.evaluate("document.querySelector('#email').type = 'text'")  # past the browser's own check
    page.fill("#email", "hello at northwind")
    page.fill("#website", "")
    page.evaluate("document.querySelector('#website').type = 'text'")
    page.fill("#website", "not a url")
    page.click("form.card button[type=submit]")
    expect(page.locator("#email-error")).to_contain_text("not an e-mail address")
    expect(page.locator("#website-error")).to_contain_text("https://")
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".flash-success")).to_have_count(0)
    assert fits(page, width)
    page.goto(f"{served.url}/settings/company")
    expect(page.locator("#email")).not_to_have_value("hello at northwind")


def test_an_empty_central_address_is_refused_not_dropped(sized, served):
    page, width = sized
    log_in(page, served, "admin@example.com")
    page.goto(f"{served.url}/settings/sending/")
    page.check("input[name=policy][value=central]")
    page.fill("input[name=central_from]", "")
    page.click("section[aria-labelledby=from-heading] button[type=submit]")
    expect(page.locator("#central_from-error")).to_contain_text("enter the central address")
    expect(page.locator(".flash-success")).to_have_count(0)
    assert fits(page, width)

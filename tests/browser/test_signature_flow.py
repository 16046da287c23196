"""The account page's signature editor in a real Chromium, on a phone (390 px) and a laptop
(1366 px): saved sanitised, previewed, an oversize one refused; nothing sticks out sideways."""

import pytest
from playwright.sync_api import expect
from test_confirmations import fits as _fits
from test_demo_flow import log_in

pytestmark = pytest.mark.browser

SIGNATURE = (
    '<p onclick="alert(1)">Kind regards,<br><strong style="color:#336699">Mia Marketer</strong>'
    "</p><script>alert(2)</script>"
)


def test_edit_the_signature_and_see_it_sanitised(sized, served):
    page, width = sized
    log_in(page, served)
    page.goto(f"{served.url}/account")
    expect(page.locator("#signature-heading")).to_have_text("Your e-mail signature")
    assert _fits(page, width)
    page.fill("#signature-source", SIGNATURE)
    page.click("button:has-text('Save signature')")
    expect(page.locator(".flash-success")).to_contain_text("Signature saved.")
    source = page.locator("#signature-source").input_value()
    assert "Mia Marketer" in source and "script" not in source and "onclick" not in source
    preview = page.frame_locator("iframe.signature-preview")
    expect(preview.locator("strong")).to_have_text("Mia Marketer")
    expect(preview.locator("script")).to_have_count(0)
    assert _fits(page, width)

    page.fill("#signature-source", "<p>" + "x" * 20_001 + "</p>")
    page.click("button:has-text('Save signature')")
    expect(page.locator("#signature-error")).to_contain_text("at most 20,000 fit")
    assert _fits(page, width)

    page.fill("#signature-source", "")  # leave the served product as it was
    page.click("button:has-text('Save signature')")
    expect(page.locator(".flash-success")).to_contain_text("Signature removed")

"""A list send in a real Chromium, on a phone (390 px) and a laptop (1366 px): tick three
contacts of which one is unsubscribed, "Send e-mail", pick a template, step through the
previews, confirm, and see two messages go out (the Outbox) and the third named as
suppressed."""

import pytest
from playwright.sync_api import expect
from test_demo_flow import log_in, menu_click

pytestmark = pytest.mark.browser


def _fits(page, width):
    """Nothing sticks out sideways: the page scrolls only down (tables scroll in their box)."""
    return page.evaluate("document.documentElement.scrollWidth") <= width


def _add_contacts(page, served, tag):
    """Three contacts tagged ``tag`` through the REST API, with the page's session."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    for first in ("Alice", "Bob", "Carol"):
        answer = page.request.put(
            f"{served.url}/api/v1/records/contact",
            data={
                "id": f"{tag}-{first}",
                "first_name": first,
                "last_name": f"Lister {tag}",
                "email": f"{first.lower()}.{tag}@example.com",
                "tags": tag,
            },
            headers={"X-CSRFToken": token},
        )
        assert answer.status == 201, answer.text()


@pytest.mark.parametrize("width", [390, 1366])
def test_tick_three_send_two_and_name_the_suppressed(browser, served, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    tag = f"lister{width}"
    carol = f"carol.{tag}@example.com"
    try:
        log_in(page, served, "admin@example.com")
        _add_contacts(page, served, tag)
        page.goto(f"{served.url}/suppressions")
        page.fill("#addresses", carol)
        page.select_option("#add-reason", "unsubscribed")
        page.click("button:has-text('Add to the list')")
        expect(page.locator(".flash-success")).to_contain_text("Added 1 address")

        menu_click(page, "Organisations")
        page.click("nav.record-tabs >> text=Contacts")
        page.fill("#tag", tag)
        page.click("button:has-text('Filter')")
        rows = page.locator("#record-list tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.nth(2)).to_contain_text("Suppressed: unsubscribed")
        page.check("#tick-page")  # "select all on this page"
        for box in page.locator('#record-list tbody input[name="id"]').all():
            expect(box).to_be_checked()
        assert _fits(page, width)
        page.click("#send-email")

        expect(page.locator("h1")).to_have_text("Send e-mail to 3 contacts")
        welcome = page.locator("#template_id option", has_text="Welcome").first
        page.select_option("#template_id", welcome.get_attribute("value"))
        page.click("button:has-text('Show preview')")
        position = page.locator("#recipient-position")
        expect(position).to_contain_text("Recipient 1 of 3")
        expect(position).to_contain_text("Alice")
        frame = page.frame_locator(".list-send-frame")
        expect(frame.locator("body")).to_contain_text("Alice")
        page.click("#next-recipient")
        expect(position).to_contain_text("Recipient 2 of 3")
        expect(frame.locator("body")).to_contain_text("Bob")
        page.click("#next-recipient")
        expect(position).to_contain_text(carol)
        expect(page.locator("#next-recipient")).to_be_disabled()
        assert _fits(page, width)

        page.click("#review-button")
        expect(page.locator("#going-count")).to_contain_text("2 people get the mail")
        expect(page.locator("#held-back")).to_contain_text(f"Carol Lister {tag}")
        expect(page.locator("#held-back")).to_contain_text("held back: unsubscribed")
        assert _fits(page, width)
        page.click("#confirm-send")

        expect(page.locator("#campaign-state")).to_have_text("done", timeout=120_000)
        expect(page.locator("#count-sent")).to_have_text("2")
        expect(page.locator("#count-suppressed")).to_have_text("1")
        expect(page.locator("#left-out")).to_contain_text(carol)
        assert _fits(page, width)

        menu_click(page, "Outbox")
        for first in ("alice", "bob"):
            expect(page.locator("tr", has_text=f"{first}.{tag}@example.com")).to_have_count(1)
        expect(page.locator("tr", has_text=carol)).to_have_count(0)
    finally:
        context.close()

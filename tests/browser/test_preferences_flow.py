"""Topics and the preference page in a real Chromium against ``designer serve``.

An administrator adds two topics, a campaign of one topic sends the starter newsletter to
one contact, and the recipient opens the preference link of the delivered message (no
login), unticks that topic, saves and sees the confirmation; the page fits a phone
(390 px) and a laptop (1366 px) without sideways scrolling.
"""

import re
import secrets
from email import message_from_string, policy

import pytest
from playwright.sync_api import expect
from test_demo_flow import log_in

pytestmark = pytest.mark.browser


def add_topic(page, name, description):
    page.fill("#new-name", name)
    page.fill("#new-description", description)
    page.click("button:has-text('Add topic')")
    expect(page.locator(".flash-success")).to_contain_text(f"Topic “{name}” added")


def delivered_html(page, served, email):
    """The HTML part of the newest message to ``email`` in the Outbox."""
    rows = page.locator("tr", has_text=email)
    for _ in range(120):  # until the worker has delivered it
        page.goto(f"{served.url}/outbox")
        if rows.count():
            break
        page.wait_for_timeout(250)
    rows.first.locator("a").first.click()
    raw = page.locator("pre.code-raw").inner_text()
    return message_from_string(raw, policy=policy.default).get_body(("html",)).get_content()


def fits(page, width):
    return page.evaluate("document.documentElement.scrollWidth") <= width


def test_untick_a_topic_from_a_delivered_message(browser, page, served):
    suffix = secrets.token_hex(3)
    events, news = f"Events {suffix}", f"News {suffix}"
    log_in(page, served, "admin@example.com")
    page.goto(f"{served.url}/settings/topics")
    expect(page.locator("h1")).to_have_text("Topics")
    add_topic(page, events, "Invitations to our events")
    add_topic(page, news, "")
    assert fits(page, 1366)

    page.goto(f"{served.url}/templates")
    page.click("text=Monthly newsletter")
    expect(page.locator("#send-contact-query")).to_be_visible()
    contacts = page.request.get(f"{served.url}/records/search/contact?q=").json()["results"]
    email = re.search(r"<([^>]+)>", contacts[-1]["label"]).group(1)

    page.goto(f"{served.url}/campaigns/new")
    page.fill("#name", f"Invitations {suffix}")
    template = page.locator("#template_id option", has_text="Monthly newsletter").first
    page.select_option("#template_id", template.get_attribute("value"))
    page.select_option("#topic_id", label=events)
    first = page.locator(".filter-row").nth(0)
    first.locator("select[name=field]").select_option("contact.email")
    first.locator("input[name=value]").fill(email)
    expect(page.locator("#audience-count")).to_have_text("1")
    page.click("text=Save draft")
    expect(page.locator("#campaign-topic")).to_have_text(events)
    page.click("button:has-text('Start now')")
    page.click("button:has-text('Send to 1 contact now')")
    expect(page.locator("#campaign-state")).to_have_text("done", timeout=120_000)

    html = delivered_html(page, served, email)
    url = re.search(r'href="([^"]+/p/[^"]+)"', html).group(1)
    assert url.startswith(served.url)

    for width in (390, 1366):  # the recipient: no login, no cookies of the marketer
        context = browser.new_context(viewport={"width": width, "height": 900})
        recipient = context.new_page()
        try:
            recipient.goto(url)
            expect(recipient.locator("h1")).to_have_text("Your e-mail preferences")
            expect(recipient.locator("#address")).to_contain_text("@")
            expect(recipient.get_by_label(re.compile(events))).to_be_checked()
            expect(recipient.get_by_label(re.compile(news))).to_be_checked()
            expect(recipient.get_by_label(re.compile("Unsubscribe from all"))).not_to_be_checked()
            assert fits(recipient, width), width
            if width == 1366:
                recipient.get_by_label(re.compile(events)).uncheck()
                recipient.click("button:has-text('Save my choices')")
                expect(recipient.locator("#saved")).to_contain_text("Your choices are saved.")
                expect(recipient.locator("#saved")).to_contain_text(f"No more: {events}.")
                expect(recipient.get_by_label(re.compile(events))).not_to_be_checked()
                expect(recipient.get_by_label(re.compile(news))).to_be_checked()
                assert fits(recipient, width)
        finally:
            context.close()

    page.goto(f"{served.url}/suppressions?q={email}")
    row = page.locator("#topic-opt-outs tr", has_text=email)
    expect(row).to_contain_text(events)
    expect(page.locator("#audit-list tr", has_text=email).first).to_contain_text("preference page")

"""A campaign as a marketer sends one, in a real Chromium against ``designer serve``.

The new-campaign page counts the audience as the filters change (and says why
a filter is refused); the campaign page follows the sending live until it is
done. Both scripts call the REST API (``/api/v1``) with the page's session.
"""

import re

import pytest
from playwright.sync_api import expect
from test_demo_flow import log_in

pytestmark = pytest.mark.browser


def record_api_calls(page, served):
    """``(method, path, status)`` of every answer from ``/api/``, as the page receives them."""
    calls = []

    def seen(response):
        path = response.url.removeprefix(served.url)
        if path.startswith("/api/"):
            calls.append((response.request.method, path, response.status))

    page.on("response", seen)
    return calls


def number_in(locator):
    expect(locator).to_have_text(re.compile(r"^\d+$"))
    return int(locator.inner_text())


def test_count_the_audience_then_start_and_watch_the_progress(page, served):
    calls = record_api_calls(page, served)
    log_in(page, served)
    page.click("nav >> text=Campaigns")
    page.click("text=New campaign")
    count = page.locator("#audience-count")
    everyone = number_in(count)

    first, second = page.locator(".filter-row").nth(0), page.locator(".filter-row").nth(1)
    first.locator("select[name=field]").select_option("contact.language")
    first.locator("input[name=value]").fill("nl")
    expect(count).not_to_have_text(str(everyone))
    dutch = number_in(count)
    assert 0 < dutch < everyone
    second.locator("select[name=field]").select_option("contact.tags")
    second.locator("select[name=op]").select_option("has_tag")
    second.locator("input[name=value]").fill("a,b")
    expect(count).to_contain_text("one tag")
    second.locator("input[name=value]").fill("")
    expect(count).to_have_text(str(dutch))

    page.fill("#name", "Browser spring")
    welcome = page.locator("#template_id option", has_text="Welcome").first
    page.select_option("#template_id", welcome.get_attribute("value"))
    page.click("text=Save draft")
    expect(page.locator("h1")).to_have_text("Browser spring")
    expect(page.locator("#campaign-state")).to_have_text("draft")
    campaign_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    expect(page.locator("#progress-not-started")).to_contain_text("Not started")
    page.click("button:has-text('Start now')")
    expect(page.locator("h1")).to_have_text(re.compile(r"^Send to \d+ contacts? now\?$"))
    page.click("button:has-text('now')")
    expect(page.locator("#campaign-state")).to_have_text("done", timeout=120_000)
    expect(page.locator("#progress-percent")).to_have_text(re.compile(r"^100(\.0)?$"))
    sent, failed, suppressed = (
        number_in(page.locator(f"#count-{name}")) for name in ("sent", "failed", "suppressed")
    )
    assert sent > 0 and sent + failed + suppressed == dutch

    assert ("POST", "/api/v1/segments/count", 200) in calls
    assert ("POST", "/api/v1/segments/count", 422) in calls  # the refused filter
    assert ("GET", f"/api/v1/campaigns/{campaign_id}/progress", 200) in calls
    assert all(path.startswith("/api/v1/") for _, path, _ in calls)


def test_dutch_contacts_picked_by_name_then_confirmed(sized, served):
    """At 390 px and 1366 px: the value box offers "Dutch (nl)"; typing "Dutch" counts the
    same contacts as "nl"; the start asks first, naming the count."""
    page, width = sized
    log_in(page, served)
    page.goto(served.url + "/campaigns/new")
    count = page.locator("#audience-count")
    row = page.locator(".filter-row").nth(0)
    row.locator("select[name=field]").select_option("contact.language")
    value = row.locator("input[name=value]")
    expect(value).to_have_attribute("list", "choices-contact.language")
    offered = page.locator("#choices-contact\\.language option[value=nl]")
    expect(offered).to_have_text("Dutch (nl)")
    everyone = number_in(count)
    value.fill("nl")
    expect(count).not_to_have_text(str(everyone))
    dutch = number_in(count)
    value.fill("")
    expect(count).to_have_text(str(everyone))
    value.fill("Dutch")
    expect(count).to_have_text(str(dutch))
    page.fill("#name", f"Dutch by name {width}")
    welcome = page.locator("#template_id option", has_text="Welcome").first
    page.select_option("#template_id", welcome.get_attribute("value"))
    page.click("text=Save draft")
    expect(page.locator("#campaign-state")).to_have_text("draft")
    page.click("button:has-text('Start now')")
    noun = "contact" if dutch == 1 else "contacts"
    expect(page.locator("h1")).to_have_text(f"Send to {dutch} {noun} now?")

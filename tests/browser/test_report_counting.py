"""A large campaign's report in a real Chromium at 390 px and 1366 px: while its first
count runs the page says so and reloads itself (a button stops that); once a worker
has counted it, the figures show with the time they were counted. Both states fit the
screen and pass axe."""

import pytest
from playwright.sync_api import expect
from test_accessibility import severe_violations
from test_report_chart import campaign_with_activity, live  # noqa: F401 - fixture

from designer.campaigns import reporting
from designer.campaigns.models import Campaign
from designer.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def test_a_large_report_while_counting_and_once_counted(sized, live, people, axe_source):  # noqa: F811
    page, width = sized
    campaign_id = campaign_with_activity(people.admin, f"Large {width}", 30)
    db.session.get(Campaign, campaign_id).audience_size = reporting.LIVE_LIMIT + 1
    db.session.commit()
    page.goto(f"{live}/login")
    page.fill("input[name=email]", "ada@example.com")
    page.fill("input[name=password]", "secret")
    page.click("button[type=submit]")

    page.goto(f"{live}/campaigns/{campaign_id}/report")
    counting = page.locator("section.counting")
    expect(counting).to_be_visible()
    expect(counting).to_have_attribute("role", "status")
    expect(counting).to_contain_text("20,001")
    assert counting.get_attribute("data-reload-after") == "5"
    stop = page.get_by_role("button", name="Stop reloading")
    expect(stop).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert severe_violations(page, axe_source) == []
    stop.click()
    expect(counting).to_contain_text("This page no longer reloads itself")
    page.evaluate("window.stayed = true")
    page.wait_for_timeout(6000)
    assert page.evaluate("window.stayed === true")  # not reloaded after 5 s

    reporting.count_and_keep(campaign_id)  # what the queued job does in a worker
    page.reload()
    expect(page.locator("section.counting")).to_have_count(0)
    expect(page.locator(".counted-at")).to_be_visible()
    expect(page.locator(".chart-legend")).to_be_visible()
    assert page.locator("[data-reload-after]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert severe_violations(page, axe_source) == []

"""A campaign whose ledger a worker writes (every audience counts as large here), started
from its page in a real Chromium: the page follows the start's job, then the sending,
until the campaign is done."""

import pytest
from playwright.sync_api import expect
from support import ServedProduct
from test_demo_flow import log_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served_by_job(tmp_path_factory):
    product = ServedProduct(tmp_path_factory.mktemp("served-by-job"))
    product.env["START_INLINE_RECIPIENTS"] = "0"
    product.start()
    yield product
    product.stop()


def test_a_start_left_to_a_job_is_followed_until_done(page, served_by_job):
    served, progress, errors = served_by_job, [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda r: progress.append(r.json()) if r.url.endswith("/progress") and r.ok else None,
    )
    log_in(page, served)
    page.goto(served.url + "/campaigns/new")
    row = page.locator(".filter-row").nth(0)
    row.locator("select[name=field]").select_option("contact.language")
    row.locator("input[name=value]").fill("nl")
    page.fill("#name", "Spring by job")
    welcome = page.locator("#template_id option", has_text="Welcome").first
    page.select_option("#template_id", welcome.get_attribute("value"))
    page.click("text=Save draft")
    expect(page.locator("#campaign-state")).to_have_text("draft")
    expect(page.locator("#queuing")).to_have_count(0)  # a draft has no queuing bar

    page.click("button:has-text('Start now')")
    page.click("button:has-text('now')")
    expect(page.locator("#campaign-state")).to_have_text("done", timeout=120_000)
    expect(page.locator("#queuing")).not_to_be_visible()
    last = progress[-1]
    assert last["queuing"] is False and last["audience_read"] == last["audience_size"] > 0
    assert errors == []

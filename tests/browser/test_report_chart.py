"""The campaign report's chart in a real Chromium at 390 px and 1366 px: the page never
gets wider than the screen (a long chart scrolls inside its card), the legend and the
axis labels show, the figures table opens, and axe finds nothing serious.

The test app (PostgreSQL or SQLite, with a campaign whose opens and clicks span three
days) is served from a thread, so the events can be written at the times the chart
needs.
"""

import re
import threading
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from test_accessibility import severe_violations
from werkzeug.serving import make_server

from designer import campaigns
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.templating import create_template
from designer.tracking.models import TrackingEvent

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

MJML = """<mjml><mj-body><mj-section><mj-column>
  <mj-button href="{{ company.website }}">Visit our site</mj-button>
  <mj-text><a href="https://shop.example.com/offer">Your offer</a></mj-text>
</mj-column></mj-section></mj-body></mjml>"""


@pytest.fixture
def live(app):
    """The test app over HTTP on loopback (a real server, in a thread)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def campaign_with_activity(sender, name, span_hours):
    """A started campaign with opens and clicks every few hours over ``span_hours``."""
    template = create_template(name, MJML, subject="Hi", user=sender)
    segment = campaigns.create_segment(f"{name} audience", [])
    campaign = campaigns.create_campaign(name, template=template, segment=segment, sender=sender)
    campaigns.start(campaign)
    message = db.session.scalars(db.select(Message).where(Message.campaign_id == campaign.id))
    message_id, start = message.first().id, utcnow() - timedelta(hours=span_hours)
    for hour in range(0, span_hours + 1, 5):
        at = start + timedelta(hours=hour)
        db.session.add_all(
            TrackingEvent(message_id=message_id, kind="open", at=at) for _ in range(hour % 7 + 1)
        )
        db.session.add(TrackingEvent(message_id=message_id, kind="click", link_index=0, at=at))
    db.session.commit()
    return campaign.id


@pytest.fixture
def reports(people):
    people.admin.timezone = "Europe/Amsterdam"
    db.session.commit()
    return {
        "hour": campaign_with_activity(people.admin, "Hourly", 70),
        "day": campaign_with_activity(people.admin, "Daily", 24 * 12),
    }


WIDTHS = """() => ({
  page: document.documentElement.scrollWidth,
  inner: window.innerWidth,
  chartRight: document.querySelector('.chart-scroll').getBoundingClientRect().right,
  chartScrolls: document.querySelector('.chart-scroll').scrollWidth
    > document.querySelector('.chart-scroll').clientWidth,
})"""


@pytest.mark.parametrize("unit", ["hour", "day"])
def test_the_report_chart_fits_the_screen_and_reads_without_colour(
    sized, live, reports, axe_source, unit
):
    page, width = sized
    page.goto(f"{live}/login")
    page.fill("input[name=email]", "ada@example.com")
    page.fill("input[name=password]", "secret")
    page.click("button[type=submit]")
    page.goto(f"{live}/campaigns/{reports[unit]}/report")

    measured = page.evaluate(WIDTHS)
    assert measured["page"] <= measured["inner"], measured
    assert measured["chartRight"] <= measured["inner"], measured
    if width == 390 and unit == "hour":
        assert measured["chartScrolls"]  # 71 hours: the chart scrolls inside its card
    legend = page.locator(".chart-legend")
    expect(legend.locator("li", has_text="Opens (solid bars)")).to_be_visible()
    expect(legend.locator("li", has_text="Clicks (striped bars)")).to_be_visible()
    expect(page.locator(".chart .time-label").first).to_be_visible()
    expect(page.locator(".chart .time-note").first).to_be_visible()
    expect(page.locator(".chart .value-label").last).to_be_visible()
    expect(page.get_by_text(f"Per {unit}, times in Europe/Amsterdam")).to_be_visible()

    table = page.locator(".chart-data table")
    expect(table).to_be_hidden()
    page.get_by_text("The figures as a table").click()
    expect(table).to_be_visible()
    expect(table.locator("tbody th").first).to_have_text(re.compile(r"^\w{3} \d{1,2} \w{3} \d{4}"))
    expect(page.locator(".link-url").first).to_have_text("company.website (merge field)")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert severe_violations(page, axe_source) == []

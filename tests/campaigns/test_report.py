"""The campaign report page: the activity chart with its axes, legend and table in the
reader's time zone, per hour or per day; links by name; and the campaign list's figures."""

import re
from datetime import datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import event
from support import free_port, log_in

from designer import broker, campaigns
from designer.campaigns import reporting
from designer.campaigns.models import Campaign
from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import Message
from designer.records import User
from designer.templating import add_version, create_template
from designer.tracking.models import TrackingEvent

LINKS_MJML = """<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hello {{ contact.first_name }}</mj-text>
  <mj-image src="https://cdn.example.com/sale.png" alt="Spring sale"
    href="https://shop.example.com/sale" />
  <mj-button href="{{ company.website }}">Visit our site</mj-button>
  <mj-text><a href="https://shop.example.com/offer">Your offer</a>
    <a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
</mj-column></mj-section></mj-body></mjml>"""
#: 08:00 UTC on Thursday 3 December 2026: 09:00 in Amsterdam.
START = datetime(2026, 12, 3, 8)


def _campaign(sender, name):
    template = create_template(name, LINKS_MJML, subject="Hi", user=sender)
    segment = campaigns.create_segment(f"{name} audience", [])
    return campaigns.create_campaign(name, template=template, segment=segment, sender=sender)


@pytest.fixture
def sent(app, people):
    """A started campaign to two contacts, and ``events(*(hours after START, kind,
    link))`` that records its opens and clicks at those times."""
    campaign = _campaign(people.admin, "Spring")
    campaigns.start(campaign)
    messages = db.session.scalars(db.select(Message).where(Message.campaign_id == campaign.id))
    first = messages.first()

    def events(*rows):
        for after, kind, link in rows:
            at = START + timedelta(hours=after)
            db.session.add(TrackingEvent(message_id=first.id, kind=kind, link_index=link, at=at))
        db.session.commit()

    campaign.events = events
    return campaign


@pytest.fixture
def reader(client, people):
    people.admin.timezone = "Europe/Amsterdam"
    db.session.commit()
    return log_in(client, "ada@example.com", "secret")


def report_page(reader, campaign):
    response = reader.get(f"/campaigns/{campaign.id}/report")
    assert response.status_code == 200
    return response.text


def svg_texts(page, kind):
    return re.findall(rf'<text class="{kind}"[^>]*>([^<]*)</text>', page)


def test_a_short_campaign_is_charted_per_hour_in_the_readers_time_zone(sent, reader):
    sent.events((0, "open", None), (0, "open", None), (2, "click", 0), (5, "open", None))
    page = report_page(reader, sent)
    assert "Per hour, times in Europe/Amsterdam" in page
    assert svg_texts(page, "time-label")[0] == "09:00"  # 08:00 UTC
    assert svg_texts(page, "time-note") == ["3 Dec"]
    assert svg_texts(page, "value-label") == ["0", "1", "2"]
    assert "Opens <span" in page and "Clicks <span" in page and "(striped bars)" in page
    assert 'id="clicks-hatch"' in page  # the clicks' stripes, in the bars and the legend
    assert page.count('<rect class="bar-opens"') == 1 + 2  # the legend's swatch and two bars
    table = page.split('<details class="chart-data">')[1].split("</details>")[0]
    rows = re.findall(
        r'<th scope="row">([^<]*)</th><td class="num">(\d+)</td><td class="num">(\d+)', table
    )
    assert rows == [
        ("Thu 3 Dec 2026 09:00", "2", "0"),
        ("Thu 3 Dec 2026 11:00", "0", "1"),
        ("Thu 3 Dec 2026 14:00", "1", "0"),
    ]
    assert 'role="img" aria-labelledby="chart-summary"' in page
    assert "3 opens and 1 clicks" in page


def test_a_campaign_over_more_than_three_days_is_charted_per_day(sent, reader):
    sent.events((0, "open", None), (30, "open", None), (24 * 6, "click", 1))
    page = report_page(reader, sent)
    assert "Per day, times in Europe/Amsterdam" in page
    assert svg_texts(page, "time-label")[:2] == ["3 Dec", "4 Dec"]
    assert svg_texts(page, "time-note") == ["2026"]
    assert '>Wed 9 Dec 2026</th><td class="num">0</td><td class="num">1<' in page
    assert "Day starting" in page


def test_a_reader_without_a_known_time_zone_reads_utc(sent, reader, people):
    people.admin.timezone = "Nowhere/Special"
    db.session.commit()
    sent.events((0, "open", None))
    page = report_page(reader, sent)
    assert "times in UTC" in page and svg_texts(page, "time-label")[0] == "08:00"


def test_no_activity_no_chart(sent, reader):
    page = report_page(reader, sent)
    assert "No opens or clicks yet." in page and '<svg class="chart"' not in page


def test_links_are_listed_by_name_and_merge_fields_by_their_path(sent, reader):
    sent.events((0, "click", 0), (1, "click", 0), (1, "click", 1))
    page = report_page(reader, sent)
    rows = [
        (
            re.search(r'<span class="link-name">(.*?)</span>', row, re.DOTALL).group(1),
            re.search(r'<code class="link-url">(.*?)</code>', row).group(1),
            re.findall(r'<td class="num">(\d+)</td>', row)[0],
        )
        for row in page.split('<tr class="link-row">')[1:]
    ]
    assert rows == [
        ("Spring sale", "https://shop.example.com/sale", "2"),
        ("Visit our site", "company.website (merge field)", "1"),
        ("Your offer", "https://shop.example.com/offer", "0"),
    ]
    assert "{{" not in page.split("Clicks per link")[1]


def link_rows(page):
    return [
        (
            re.search(r'<span class="link-name">(.*?)</span>', row, re.DOTALL).group(1),
            re.findall(r'<td class="num">(\d+)</td>', row)[0],
        )
        for row in page.split('<tr class="link-row">')[1:]
    ]


EDITED_MJML = """<mjml><mj-body><mj-section><mj-column>
  <mj-text><a href="https://shop.example.com/new">New arrivals</a>
    <a href="https://shop.example.com/offer">Your offer</a></mj-text>
</mj-column></mj-section></mj-body></mjml>"""


def test_clicks_stay_on_the_links_sent_when_the_template_is_edited_later(sent, reader):
    sent.events((0, "click", 0), (1, "click", 2), (2, "click", 2))
    add_version(sent.template, EDITED_MJML, subject="Hi again")
    assert link_rows(report_page(reader, sent)) == [
        ("Spring sale", "1"),  # link 0 of the version sent, not "New arrivals"
        ("Visit our site", "0"),
        ("Your offer", "2"),
    ]


def test_a_message_of_another_version_counts_on_its_own_links(sent, reader):
    edited = add_version(sent.template, EDITED_MJML, subject="Hi again")
    later = db.session.scalars(
        db.select(Message).where(Message.campaign_id == sent.id).order_by(Message.id.desc())
    ).first()
    later.template_version_id = edited.id
    db.session.add(TrackingEvent(message_id=later.id, kind="click", link_index=1, at=START))
    db.session.add(TrackingEvent(message_id=later.id, kind="click", link_index=0, at=START))
    db.session.commit()
    sent.events((0, "click", 2))
    assert link_rows(report_page(reader, sent)) == [
        ("Spring sale", "0"),
        ("Visit our site", "0"),
        ("Your offer", "2"),  # one click through each version's own index
        ("New arrivals", "1"),  # only the later version had it
    ]


def test_the_api_report_keeps_its_shape(sent, reader):
    sent.events((0, "click", 0))
    body = reader.get(f"/api/v1/campaigns/{sent.id}/report").get_json()
    assert body["links"][0] == {
        "url": "https://shop.example.com/sale",
        "clicks": 1,
        "human_clicks": 1,
    }
    assert body["activity"] == [{"hour": "2026-12-03T08:00:00Z", "opens": 0, "clicks": 1}]


def count_queries(work):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return statements


def test_the_campaign_list_shows_sent_opens_and_clicks_without_a_query_per_row(app, people, reader):
    def listed():
        page = reader.get("/campaigns")
        assert page.status_code == 200
        return page.text

    admin_id = people.admin.id
    started = _campaign(people.admin, "First")
    campaigns.start(started)
    messages = db.session.scalars(db.select(Message).where(Message.campaign_id == started.id))
    first, second = messages.all()
    first.state = second.state = "sent"
    for kind in ("open", "open", "click"):
        db.session.add(TrackingEvent(message_id=first.id, kind=kind, link_index=0, at=START))
    first.open_count, first.click_count = 2, 1
    db.session.commit()
    db.session.expunge_all()  # nothing cached: each row's template and audience are read
    few = len(count_queries(listed))
    for name in ("Second", "Third", "Fourth"):
        campaigns.start(_campaign(db.session.get(User, admin_id), name))
    db.session.expunge_all()
    page = listed()
    assert len(count_queries(listed)) == few
    row = " ".join(page.split(">First</strong>")[1].split("</tr>")[0].split())
    assert '<td class="num">2</td>' in row  # sent to both contacts
    assert row.count('<td class="num">1 <span class="muted">(50.0%)</span></td>') == 2


def report_jobs():
    jobs = Queue(broker.PERIODIC, connection=broker.get_redis()).jobs
    return [job for job in jobs if job.func_name == broker.COUNT_REPORT]


@pytest.fixture
def large(sent):
    """The campaign, as large as reports are counted for in the background."""
    sent.audience_size = reporting.LIVE_LIMIT + 1
    db.session.commit()
    return sent


def test_a_small_campaigns_report_is_counted_for_each_view(sent, reader):
    sent.events((0, "open", None))
    assert "Counting…" not in report_page(reader, sent)
    body = reader.get(f"/api/v1/campaigns/{sent.id}/report").get_json()
    assert body["counted_at"] is None and body["recounting"] is False
    assert report_jobs() == [] and broker.get_redis().keys("designer:report:*") == []


def test_a_large_campaigns_first_view_queues_one_count_and_says_so(large, reader):
    page = report_page(reader, large)
    assert "Counting…" in page and "went to 20,001 people" in page
    assert 'data-reload-after="5"' in page and "js/reload.js" in page
    assert "Clicks per link" not in page
    (job,) = report_jobs()
    assert job.args == (large.id,) and job.timeout == broker.TIMEOUTS[broker.COUNT_REPORT]
    answer = reader.get(f"/api/v1/campaigns/{large.id}/report")
    assert answer.status_code == 202 and answer.headers["Retry-After"] == "5"
    assert "being counted" in answer.get_json()["message"]
    assert "Counting…" in report_page(reader, large)
    assert len(report_jobs()) == 1  # one count at a time


def test_the_worker_counts_and_the_page_shows_the_stored_figures(large, reader, run_worker_burst):
    large.events((0, "open", None), (1, "click", 0), (1, "click", 2))
    report_page(reader, large)
    run_worker_burst()
    assert report_jobs() == []
    assert not broker.get_redis().exists(reporting.COUNTING_KEY.format(large.id))
    page = report_page(reader, large)
    assert "Counting…" not in page and "Figures as counted at" in page
    assert "newer count" not in page and "data-reload-after" not in page
    assert link_rows(page) == [("Spring sale", "1"), ("Visit our site", "0"), ("Your offer", "1")]
    assert "3 Dec 2026 09:00" in page  # the activity chart, in the reader's time zone
    body = reader.get(f"/api/v1/campaigns/{large.id}/report").get_json()
    live = reporting.count(large)
    assert body["figures"] == live.figures and body["counted_at"].endswith("Z")
    assert [link["clicks"] for link in body["links"]] == [1, 0, 1]
    assert body["activity"][0] == {"hour": "2026-12-03T08:00:00Z", "opens": 1, "clicks": 0}
    assert report_jobs() == []  # fresh: nothing counted again


def test_a_report_older_than_a_minute_is_shown_while_it_is_counted_again(
    large, reader, run_worker_burst, monkeypatch
):
    large.events((0, "click", 0))
    report_page(reader, large)
    run_worker_burst()
    large.events((1, "click", 0), (2, "click", 0))
    assert link_rows(report_page(reader, large))[0] == ("Spring sale", "1")  # kept, not counted
    assert report_jobs() == []
    later = utcnow() + timedelta(seconds=reporting.FRESH_SECONDS + 1)
    monkeypatch.setattr(reporting, "utcnow", lambda: later)
    page = report_page(reader, large)
    assert link_rows(page)[0] == ("Spring sale", "1") and "a newer count is on its way" in page
    assert 'data-reload-after="10"' in page
    assert len(report_jobs()) == 1
    run_worker_burst()
    monkeypatch.undo()
    assert link_rows(report_page(reader, large))[0] == ("Spring sale", "3")


def test_the_campaign_list_reads_large_campaigns_from_their_stored_reports(
    large, reader, run_worker_burst
):
    def row():
        page = reader.get("/campaigns").text
        return " ".join(page.split(">Spring</strong>")[1].split("</tr>")[0].split())

    for message in db.session.scalars(db.select(Message).where(Message.campaign_id == large.id)):
        message.state = "sent"
    db.session.commit()
    assert '<td class="num muted">\u2013</td>' in row() and len(report_jobs()) == 1
    run_worker_burst()
    assert '<td class="num">2</td>' in row()  # sent, from the stored report


def test_without_redis_a_large_campaigns_report_is_counted_for_the_view(large, app_with):
    large.events((0, "click", 0))
    down = app_with(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with down.app_context():
        report = reporting.report_of(db.session.get(Campaign, large.id))
    assert report.counted_at is None and report.links[0].clicks == 1

"""The report's activity chart: buckets per hour, day or week on the reader's clock,
and the labels and ticks of its axes."""

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from designer.tracking.chart import activity_chart, buckets, unit_for, value_steps, zone_named

START = datetime(2026, 12, 3, 8)  # naive UTC, as the database answers


def hours(*rows):
    """``[(UTC hour, opens, clicks)]`` from ``(hours after START, opens, clicks)``."""
    return [(START + timedelta(hours=h), opens, clicks) for h, opens, clicks in rows]


def test_a_short_campaign_is_drawn_per_hour_with_the_empty_hours_filled_in():
    chart = activity_chart(hours((0, 5, 1), (3, 40, 6), (30, 2, 0)), "UTC")
    assert chart.unit == "hour" and chart.zone == "UTC"
    assert len(chart.buckets) == 31  # 08:00 on the 3rd to 14:00 on the 4th, every hour
    assert [(b.opens, b.clicks) for b in chart.buckets[:4]] == [(5, 1), (0, 0), (0, 0), (40, 6)]
    assert chart.buckets[3].label == "Thu 3 Dec 2026 11:00"
    assert sum(b.opens for b in chart.buckets) == 47


def test_hour_labels_are_in_the_readers_time_zone_with_the_date_where_it_changes():
    chart = activity_chart(hours((0, 5, 1), (3, 40, 6), (30, 2, 0)), "Europe/Amsterdam")
    assert chart.zone == "Europe/Amsterdam"
    assert chart.buckets[0].label == "Thu 3 Dec 2026 09:00"  # UTC+1 in December
    labels = [(t.label, t.note) for t in chart.times]
    assert labels[0] == ("09:00", "3 Dec")
    assert ("00:00", "4 Dec") in labels
    assert all(label.endswith(":00") for label, _ in labels)
    assert [note for _, note in labels if note] == ["3 Dec", "4 Dec"]
    shown = [int(label[:2]) for label, _ in labels]
    steps = {(b - a) % 24 for a, b in pairwise(shown)}
    assert steps == {3}  # every third hour: 31 bars leave room for five-character labels


def test_labels_never_overlap():
    for span in (1, 10, 72):
        chart = activity_chart(hours((0, 1, 0), (span, 1, 0)), "UTC")
        gaps = [b.at - a.at for a, b in pairwise(chart.times)]
        assert chart.times and all(gap >= 46 for gap in gaps), span


def test_a_campaign_spanning_more_than_three_days_is_drawn_per_day():
    activity = hours((0, 5, 1), (2, 3, 0), (24, 7, 2), (24 * 5, 1, 1))
    assert unit_for(activity[:3]) == "hour"
    chart = activity_chart(activity, "UTC")
    assert chart.unit == "day"
    assert [(b.label, b.opens, b.clicks) for b in chart.buckets] == [
        ("Thu 3 Dec 2026", 8, 1),
        ("Fri 4 Dec 2026", 7, 2),
        ("Sat 5 Dec 2026", 0, 0),
        ("Sun 6 Dec 2026", 0, 0),
        ("Mon 7 Dec 2026", 0, 0),
        ("Tue 8 Dec 2026", 1, 1),
    ]
    assert [(t.label, t.note) for t in chart.times][:2] == [("3 Dec", "2026"), ("4 Dec", "")]


def test_days_are_the_readers_days():
    """04:00 UTC on the 9th is still the 8th in New York (UTC-5)."""
    activity = hours((0, 1, 0), (24 * 5 + 20, 1, 0))
    new_york = activity_chart(activity, "America/New_York")
    assert new_york.buckets[0].label == "Thu 3 Dec 2026"
    assert new_york.buckets[-1].label == "Tue 8 Dec 2026"
    assert activity_chart(activity, "UTC").buckets[-1].label == "Wed 9 Dec 2026"


def test_a_long_campaign_is_drawn_per_week_from_monday():
    chart = activity_chart(hours((0, 1, 0), (24 * 120, 2, 1)), "UTC")
    assert chart.unit == "week"
    assert chart.buckets[0].label == "week of Mon 30 Nov 2026"
    assert chart.buckets[-1].start.weekday() == 0 and chart.buckets[-1].clicks == 1
    assert ("11 Jan", "2027") in [(t.label, t.note) for t in chart.times]


def test_the_value_axis_has_a_few_round_ticks_up_to_the_peak():
    assert value_steps(0) == (1, [0, 1])
    assert value_steps(3) == (3, [0, 1, 2, 3])
    assert value_steps(7) == (8, [0, 2, 4, 6, 8])
    assert value_steps(40) == (40, [0, 10, 20, 30, 40])
    assert value_steps(1234) == (1500, [0, 500, 1000, 1500])
    chart = activity_chart(hours((0, 40, 6)), "UTC")
    assert [t.label for t in chart.values] == ["0", "10", "20", "30", "40"]
    peak = chart.opens[0]
    assert peak.y == chart.values[-1].at and peak.y + peak.height == chart.plot_bottom
    assert chart.clicks[0].height == pytest.approx(peak.height * 6 / 40, abs=0.1)


def test_many_buckets_make_the_chart_wider_and_few_keep_it_small():
    wide = activity_chart(hours((0, 1, 0), (72, 1, 0)), "UTC")
    narrow = activity_chart(hours((0, 1, 0)), "UTC")
    assert wide.width > 1000 and narrow.width < 200
    assert wide.opens[-1].x + wide.opens[-1].width < wide.plot_right


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "../etc/passwd", "Europe/"])
def test_an_empty_or_unknown_time_zone_reads_as_utc(name):
    assert zone_named(name).key == "UTC"
    assert activity_chart(hours((0, 1, 0)), name).zone == "UTC"


def test_no_activity_no_chart():
    assert activity_chart([], "UTC") is None
    assert buckets([], zone_named("UTC")) == []


def test_hours_without_opens_or_clicks_still_draw_an_axis():
    chart = activity_chart(hours((0, 0, 0)), "UTC")
    assert [t.label for t in chart.values] == ["0", "1"] and chart.opens[0].height == 0


def test_the_summary_names_the_span_zone_and_totals():
    chart = activity_chart(hours((0, 5, 1), (2, 3, 0)), "Asia/Kolkata")
    assert chart.buckets[0].label == "Thu 3 Dec 2026 13:30"  # UTC+5:30: hours start at :30
    assert chart.summary == (
        "Opens and clicks per hour (Asia/Kolkata time), Thu 3 Dec 2026 13:30 to "
        "Thu 3 Dec 2026 15:30: 8 opens and 1 clicks."
    )

"""The report's activity chart: opens and clicks per hour, day or week on the reader's
clock, laid out as the SVG the report page draws (no script).

The database counts events per UTC hour (``reports.activity_by_hour``); here those
hours become buckets in the reader's time zone, with the empty ones between filled
in, so the time axis is even. A campaign whose activity spans more than
``HOURLY_SPAN`` is drawn per day, and past ``DAILY_SPAN`` per week (from Monday), so
the bars stay few enough to read. In a time zone a fraction of an hour from UTC an
hour bucket starts at :30 or :45, and a day bucket takes each hour by its start.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import ceil
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from flask_babel import get_locale
from flask_babel import gettext as _

#: Activity spanning up to this long is drawn per hour; longer, per day.
HOURLY_SPAN = timedelta(days=3)
#: Activity spanning up to this long is drawn per day; longer, per week.
DAILY_SPAN = timedelta(days=92)
#: Every ``k``-th bucket is labelled, the smallest ``k`` here that leaves labels room.
LABEL_STEPS = {
    "hour": (1, 2, 3, 4, 6, 12, 24),
    "day": (1, 2, 7, 14, 28),
    "week": (1, 2, 4, 8, 13, 26, 52),
}
#: Room a time label needs on the axis, in pixels ("14:00", "30 Nov").
LABEL_WIDTH = 46
#: Width of one bucket: at least ``MIN_SLOT`` pixels (many buckets: the chart scrolls),
#: at most ``MAX_SLOT``, else the plot's share of ``PLOT_WIDTH``.
MIN_SLOT, MAX_SLOT, PLOT_WIDTH = 14, 64, 640
#: Margins around the plot (value labels on the left, two lines of time labels below).
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 44
PLOT_HEIGHT = 160
#: At most this many steps on the value axis.
VALUE_STEPS = 4


def _month(number):
    """The short name of month ``number`` (1 to 12) in the page's language ("Dec", "dec.")."""
    return _names().months["format"]["abbreviated"][number]


def _weekday(index):
    """The short name of weekday ``index`` (0 is Monday) in the page's language."""
    return _names().days["format"]["abbreviated"][index]


def _names():
    try:
        return Locale.parse(str(get_locale() or "en"))
    except (ValueError, LookupError):
        return Locale("en")


def zone_named(name):
    """The time zone called ``name``; UTC when it is empty or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Bucket:
    """One bar pair: its local start, figures and full label ("Thu 3 Dec 2026 14:00")."""

    start: datetime
    opens: int
    clicks: int
    label: str


@dataclass(frozen=True)
class Bar:
    """A rectangle of the plot, with what a pointer over it shows."""

    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Tick:
    """A labelled position on an axis; ``note`` is a time label's second line (a date)."""

    at: float
    label: str
    note: str = ""


@dataclass(frozen=True)
class Chart:
    """What the report page draws: buckets, bars, axis ticks and their geometry."""

    unit: str
    zone: str
    buckets: list
    opens: list
    clicks: list
    values: list
    times: list
    width: int
    height: int

    @property
    def plot_left(self):
        return LEFT

    @property
    def plot_bottom(self):
        return TOP + PLOT_HEIGHT

    @property
    def plot_right(self):
        return self.width - RIGHT

    @property
    def summary(self):
        """The chart in a sentence, for those who cannot see it."""
        first, last = self.buckets[0].label, self.buckets[-1].label
        units = {"hour": _("hour"), "day": _("day"), "week": _("week")}
        return _(
            "Opens and clicks per %(unit)s (%(zone)s time), %(first)s to %(last)s: "
            "%(opens)s opens and %(clicks)s clicks.",
            unit=units.get(self.unit, self.unit),
            zone=self.zone,
            first=first,
            last=last,
            opens=sum(b.opens for b in self.buckets),
            clicks=sum(b.clicks for b in self.buckets),
        )


def unit_for(activity):
    """The bucket ("hour", "day" or "week") for activity spanning its first to last hour."""
    span = activity[-1][0] - activity[0][0] if activity else timedelta(0)
    if span <= HOURLY_SPAN:
        return "hour"
    return "day" if span <= DAILY_SPAN else "week"


def _local(hour, zone):
    return hour.replace(tzinfo=UTC).astimezone(zone)


def _key(hour, unit, zone):
    """The bucket of a UTC hour: the hour itself, or the local day or week it starts in."""
    if unit == "hour":
        return hour
    day = _local(hour, zone).date()
    return day if unit == "day" else day - timedelta(days=day.weekday())


def _keys(first, last, unit):
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}
    keys, key = [], first
    while key <= last:
        keys.append(key)
        key += step[unit]
    return keys


def _day(value):
    return f"{_weekday(value.weekday())} {value.day} {_month(value.month)} {value.year}"


def _full_label(start, unit):
    if unit == "hour":
        return f"{_day(start)} {start:%H:%M}"
    return _day(start) if unit == "day" else _("week of %(day)s", day=_day(start))


def _start(key, unit, zone):
    if unit == "hour":
        return _local(key, zone)
    return datetime(key.year, key.month, key.day, tzinfo=zone)


def buckets(activity, zone, unit=None):
    """``[Bucket]`` of ``activity`` (``[(UTC hour, opens, clicks)]``, oldest first) per
    ``unit`` (by default ``unit_for``), from the first to the last, gaps filled."""
    if not activity:
        return []
    unit = unit or unit_for(activity)
    counts = {}
    for hour, opens, clicks in activity:
        key = _key(hour, unit, zone)
        before = counts.get(key, (0, 0))
        counts[key] = (before[0] + opens, before[1] + clicks)
    keys = _keys(_key(activity[0][0], unit, zone), _key(activity[-1][0], unit, zone), unit)
    result = []
    for key in keys:
        start = _start(key, unit, zone)
        opens, clicks = counts.get(key, (0, 0))
        result.append(Bucket(start, opens, clicks, _full_label(start, unit)))
    return result


def value_steps(peak):
    """``(top, [tick values])``: the axis runs 0…top in round steps (1, 2 or 5 times a
    power of ten)."""
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            step = multiple * magnitude
            if ceil(peak / step) <= VALUE_STEPS:
                top = max(step, step * ceil(peak / step))
                return top, list(range(0, top + 1, step))
        magnitude *= 10


def _label_step(unit, slot):
    steps = LABEL_STEPS[unit]
    return next((k for k in steps if k * slot >= LABEL_WIDTH), steps[-1])


def _labelled(index, bucket, unit, every):
    if unit == "hour":
        return bucket.start.hour % every == 0
    return index % every == 0


def _time_label(bucket, unit):
    if unit == "hour":
        return f"{bucket.start:%H:%M}"
    return f"{bucket.start.day} {_month(bucket.start.month)}"


def _note(bucket, unit, previous):
    """A time label's second line: the date under hours, the year under days, when it
    changes (and under the first label)."""
    if unit == "hour":
        shown = f"{bucket.start.day} {_month(bucket.start.month)}"
        changed = previous is None or previous.start.date() != bucket.start.date()
    else:
        shown = str(bucket.start.year)
        changed = previous is None or previous.start.year != bucket.start.year
    return shown if changed else ""


def time_ticks(rows, unit, slot):
    """``[Tick]`` of the time axis: a label every few buckets, so they never overlap."""
    every, ticks, previous = _label_step(unit, slot), [], None
    for index, bucket in enumerate(rows):
        if _labelled(index, bucket, unit, every):
            at = round(LEFT + (index + 0.5) * slot, 1)
            ticks.append(Tick(at, _time_label(bucket, unit), _note(bucket, unit, previous)))
            previous = bucket
    return ticks


def _bar(index, slot, offset, share, value, top, title):
    height = round(PLOT_HEIGHT * value / top, 1)
    x = round(LEFT + index * slot + offset * slot, 1)
    return Bar(x, round(TOP + PLOT_HEIGHT - height, 1), round(share * slot, 1), height, title)


def activity_chart(activity, zone_name=""):
    """The ``Chart`` of ``activity`` (``[(UTC hour, opens, clicks)]``) in the zone named
    (UTC when it is empty or unknown); None when there is no activity."""
    zone = zone_named(zone_name)
    unit = unit_for(activity)
    rows = buckets(activity, zone, unit)
    if not rows:
        return None
    slot = max(MIN_SLOT, min(MAX_SLOT, PLOT_WIDTH / len(rows)))
    top, steps = value_steps(max(max(b.opens, b.clicks) for b in rows))
    opens = [
        _bar(
            i,
            slot,
            0.1,
            0.45,
            b.opens,
            top,
            _("%(when)s: %(count)s opens", when=b.label, count=b.opens),
        )
        for i, b in enumerate(rows)
    ]
    clicks = [
        _bar(
            i,
            slot,
            0.55,
            0.35,
            b.clicks,
            top,
            _("%(when)s: %(count)s clicks", when=b.label, count=b.clicks),
        )
        for i, b in enumerate(rows)
    ]
    values = [Tick(round(TOP + PLOT_HEIGHT * (1 - v / top), 1), str(v)) for v in steps]
    return Chart(
        unit=unit,
        zone=zone.key,
        buckets=rows,
        opens=opens,
        clicks=clicks,
        values=values,
        times=time_ticks(rows, unit, slot),
        width=ceil(LEFT + len(rows) * slot + RIGHT),
        height=TOP + PLOT_HEIGHT + BOTTOM,
    )

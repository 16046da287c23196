"""Conditions: field comparisons against a record's merge data, all or any of them.

Fields are the dotted merge-field names (``organisation.country``,
``invoice.total``), so a condition can look at related records. Values are
compared as numbers when the field is a number, as dates when it is a date,
else as text without regard to case.
"""

from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from designer.records import merge_data
from designer.workflows.rules import OPERATORS, REPLIED_FIELD


@dataclass(frozen=True)
class Checked:
    """One condition as evaluated for one record."""

    field: str
    op: str
    value: str
    actual: str
    result: bool
    label: str


def evaluate(conditions, module, record):
    """``(matched, [Checked, …])``; no conditions means matched."""
    data = merge_data(module, record)
    checked = [
        _check_replied(item, module, record)
        if item["field"] == REPLIED_FIELD
        else _check(item, data)
        for item in conditions.get("items") or ()
    ]
    if not checked:
        return True, []
    results = [c.result for c in checked]
    matched = all(results) if conditions.get("match", "all") == "all" else any(results)
    return matched, checked


def as_log(checked):
    return [asdict(c) for c in checked]


def lookup(data, path):
    """The value at a dotted ``path`` of merge data (None when absent)."""
    value = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _check(item, data):
    actual = lookup(data, item["field"])
    result = compare(actual, item["op"], item["value"])
    label = f"{item['field']} {OPERATORS[item['op']]}"
    if item["value"] != "":
        label += f" {item['value']}"
    return Checked(item["field"], item["op"], item["value"], _text(actual), result, label)


def _check_replied(item, module, record):
    from designer.workflows.replied import has_replied

    replied = has_replied(module, record, item["value"])
    result = replied if item["op"] == "eq" else not replied
    which = "any message" if item["value"] == "any" else f"a message of template {item['value']}"
    label = f"replied to {which}" if item["op"] == "eq" else f"did not reply to {which}"
    return Checked(item["field"], item["op"], item["value"], str(replied).lower(), result, label)


def compare(actual, op, expected):
    """Whether ``actual <op> expected`` holds (a bad comparison is simply false)."""
    if op == "empty":
        return actual in (None, "", [], {})
    if op == "not_empty":
        return actual not in (None, "", [], {})
    if op in ("contains", "not_contains"):
        found = expected.casefold() in _text(actual).casefold()
        return found if op == "contains" else not found
    try:
        left, right = _comparable(actual, expected)
    except (ValueError, InvalidOperation, TypeError):
        return op == "ne"
    return {
        "eq": left == right,
        "ne": left != right,
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }[op]


def _comparable(actual, expected):
    if isinstance(actual, bool):
        return actual, expected.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(actual, int | float | Decimal):
        return Decimal(str(actual)), Decimal(expected.strip())
    if isinstance(actual, datetime):
        return actual.date(), date.fromisoformat(expected.strip())
    if isinstance(actual, date):
        return actual, date.fromisoformat(expected.strip())
    if actual is None:
        raise ValueError("no value")
    return _text(actual).casefold(), expected.strip().casefold()


def _text(value):
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)

"""The sandbox: no escape to Python internals or settings, bounded work, locale formats."""

from datetime import date
from decimal import Decimal

import pytest

from designer.templating.sandbox import MergeError, build_environment, compile_template, render


def merge(source, **data):
    return render(compile_template(build_environment(), source), data)


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ('{0.__class__}'|attr('format'))(1) }}",
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ contact.__class__.__init__.__globals__ }}",
])
def test_escape_payloads_fail_or_render_nothing_sensitive(payload):
    try:
        out = merge(payload, contact={"first_name": "Ann"})
    except MergeError:
        return
    assert "subclasses" not in out and "os" not in out.split() and "__builtins__" not in out
    assert "<class" not in out


@pytest.mark.parametrize("payload", ["{{ config }}", "{{ request }}", "{{ self }}"])
def test_no_app_objects_are_reachable(payload):
    out = merge(payload)
    assert "SECRET" not in out and "Config" not in out and "Request" not in out


@pytest.mark.parametrize("payload", ["{{ 'x' * 10**9 }}", "{{ 9**99999999 }}", "{{ [1] * 10**8 }}"])
def test_huge_results_fail_fast_with_a_clear_error(payload):
    with pytest.raises(MergeError, match="too large"):
        merge(payload)


def test_merge_values_are_html_escaped():
    assert merge("{{ name }}", name="<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"


def test_default_filter_fills_missing_values():
    assert merge('Hi {{ contact.first_name | default("there") }}', contact={}) == "Hi there"


def test_locale_formats_follow_the_render_locale():
    source = "{{ d | date }} {{ amount | money('EUR') }}"
    data = {"d": date(2026, 11, 27), "amount": Decimal("1234.5")}
    assert merge(source, locale="nl", **data) == "27-11-2026 €\xa01.234,50"
    assert merge(source, locale="en", **data) == "11/27/2026 €1,234.50"
    assert merge(source, locale="de", **data) == "27.11.2026 1.234,50\xa0€"

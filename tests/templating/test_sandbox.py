"""The sandbox: no escape to Python internals or settings, bounded work, locale formats."""

from datetime import date
from decimal import Decimal

import pytest

from designer.templating.sandbox import MergeError, build_environment, compile_template, render


def merge(source, **data):
    return render(compile_template(build_environment(), source), data)


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ('{0.__class__}'|attr('format'))(1) }}",
        "{{ lipsum.__globals__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ contact.__class__.__init__.__globals__ }}",
    ],
)
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


@pytest.mark.parametrize(
    "payload",
    [
        "{{ 'x' | center(10**8) }}",
        "{{ 'x'.ljust(10**8) }}",
        "{{ 'x'.zfill(10**8) }}",
        "{{ ('x' * 99999) | replace('x', 'y' * 99999) }}",
        "{{ ('x' * 99999).replace('x', 'y' * 99999) }}",
        "{{ ([1] * 99999) | join('x' * 99999) }}",
        "{{ ('x' * 99999).join(['a'] * 99999) }}",
        "{{ '%0999999999d' % 1 }}",
        "{{ '%0999999999d' | format(1) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ ('x\n' * 50000) | indent(99999) }}",
    ],
)
def test_operations_with_huge_results_are_refused(payload):
    with pytest.raises(MergeError, match="too large"):
        merge(payload)


@pytest.mark.parametrize(
    "payload",
    [
        "{% for a in [1] * 99999 %}{% for b in [1] * 99999 %}{% endfor %}{% endfor %}",
        "{% for a in 'x' * 99999 %}{% for b in 'x' * 99999 %}{{ '' }}{% endfor %}{% endfor %}",
    ],
)
def test_endless_loops_stop_at_the_deadline(payload):
    import time

    started = time.monotonic()
    with pytest.raises(MergeError, match="took longer than"):
        merge(payload)
    assert time.monotonic() - started < 5


def test_recursion_fails_cleanly():
    with pytest.raises(MergeError, match="too deeply"):
        merge("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}")


def test_ordinary_templates_still_work():
    source = (
        "{% for line in lines %}{{ loop.index }}. {{ line.name | upper }} "
        "{{ line.price | money('EUR') }}{% if not loop.last %}, {% endif %}{% endfor %}"
        " {{ 'x' | center(5) }}|{{ names | join(', ') }}|{{ 'a-b' | replace('-', '+') }}"
    )
    out = merge(
        source,
        locale="en",
        names=["Ann", "Bob"],
        lines=[{"name": "tea", "price": 2}, {"name": "cake", "price": 3.5}],
    )
    assert out == "1. TEA €2.00, 2. CAKE €3.50   x  |Ann, Bob|a+b"

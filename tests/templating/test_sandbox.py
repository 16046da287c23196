"""The sandbox: no escape to Python internals or settings, bounded work, locale formats."""

import itertools
import pickle
from datetime import date, datetime
from decimal import Decimal

import pytest
from markupsafe import Markup

from designer.templating.sandbox import (
    MergeError,
    _reason,
    build_environment,
    compile_template,
    parse_template,
    render,
)


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


WHEN = datetime(2026, 11, 27, 15, 4)
FORMATS = (
    "{{ n | number }}|{{ p | percent }}|{{ w | datetime }}|{{ a | money }}|"
    "{{ a | money('usd') }}|{{ d | date }}|{{ n | number('#,##0.0') }}"
)
FORMAT_DATA = {"n": 1234567.891, "p": 0.215, "w": WHEN, "a": 1234.5, "d": "2026-11-27T10:00"}
ENGLISH = "1,234,567.891|22%|11/27/26, 3:04\u202fPM|€1,234.50|$1,234.50|11/27/2026|1,234,567.9"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", ENGLISH),
        (
            "nl",
            "1.234.567,891|22%|27-11-2026, 15:04|€\xa01.234,50|US$\xa01.234,50|27-11-2026|"
            "1.234.567,9",
        ),
        (
            "de",
            "1.234.567,891|22\xa0%|27.11.26, 15:04|1.234,50\xa0€|1.234,50\xa0$|27.11.2026|"
            "1.234.567,9",
        ),
        (
            "pt-BR",
            "1.234.567,891|22%|27/11/2026 15:04|€\xa01.234,50|US$\xa01.234,50|27/11/2026|"
            "1.234.567,9",
        ),
    ],
)
def test_number_percent_datetime_and_money_are_written_the_locales_way(locale, expected):
    assert merge(FORMATS, locale=locale, **FORMAT_DATA) == expected


@pytest.mark.parametrize("locale", ["xx-YY", "", None, "not a locale at all"])
def test_an_unknown_or_missing_locale_formats_in_english(locale):
    assert merge(FORMATS, locale=locale, **FORMAT_DATA) == ENGLISH


def test_money_without_a_currency_uses_the_merge_datas_then_euros():
    assert merge("{{ 3 | money }}", locale="en", currency="gbp") == "£3.00"
    assert merge("{{ 3 | money }}", locale="en") == "€3.00"
    assert merge("{{ 3 | money('chf') }}", locale="en", currency="gbp") == "CHF3.00"


def test_values_that_are_not_numbers_or_dates_format_as_nothing():
    source = (
        "[{{ e | number }}|{{ t | number }}|{{ none | percent }}|{{ e | money }}|"
        "{{ s | datetime }}|{{ t | date }}|{{ none | date }}]"
    )
    data = {"e": "", "t": "not a number", "none": None, "s": "2026-11-27"}
    assert merge(source, locale="en", **data) == "[||||||]"
    assert merge("{{ w | date }}|{{ d | date }}", w=WHEN, d=date(2026, 1, 2)) == (
        "11/27/2026|1/2/2026"
    )


@pytest.mark.parametrize("value", ["1e30", "9" * 31, "-1e30", "1e-30"])
def test_numbers_up_to_the_largest_amount_format_in_every_filter(value):
    for name in ("number", "percent", "money", "number('#,##0.00####')"):
        assert merge("{{ x | " + name + " }}", x=value, locale="en")


@pytest.mark.parametrize("value", ["1e31", "1e-31", "nan", "-inf"])
def test_numbers_past_the_largest_amount_are_refused_with_a_clear_message(value):
    for name in ("number", "percent", "money"):
        with pytest.raises(MergeError, match="too large or too small to format"):
            merge("{{ x | " + name + " }}", x=value)


def test_a_pattern_asking_for_more_digits_than_a_number_has_is_refused():
    with pytest.raises(MergeError, match="asks for more digits than a number has") as caught:
        merge("\n{{ 1 | number('0.' ~ '0' * 500) }}")
    assert caught.value.line == 2


def test_methods_take_positional_arguments_and_format_map_a_mapping():
    source = (
        "{{ 'x'.center(5, '*') }}|{{ 'a-b-c'.split('-', 1) }}|{{ 'abcb'.replace('b', 'x', 1) }}|"
        "{{ '{a}-{b}'.format_map({'a': 1, 'b': two}) }}|{{ '{0}+{1}'.format(1, two) }}|"
        "{{ ('<i>{a}</i>' | safe).format_map({'a': '<x>'}) }}"
    )
    assert merge(source, two=2, locale="en") == (
        "**x**|[&#39;a&#39;, &#39;b-c&#39;]|axcb|1-2|1+2|<i>&lt;x&gt;</i>"
    )
    for bad in ("{{ '{a}'.format_map({'a': 1}, 2) }}", "{{ '{a}'.format_map(a=1) }}"):
        with pytest.raises(MergeError, match="format_map\\(\\) takes exactly one mapping"):
            merge(bad)


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("one\ntwo\nthree\n{{ 'abc'.encode() }}", 4, "not allowed"),
        ("{% for i in items %}\n{{ i }}\n\n{{ i + 'x' }}{% endfor %}", 4, "TypeError"),
        ("a\nb\nc\nd\n{{ missing.deep.thing }}\nf", 5, "undefined"),
        ("{% set x = 1 %}\n\n{{ x }}\n{{ 1 // 0 }}\n{{ x }}", 4, "ZeroDivisionError"),
        ("{% if a %}\n{% for i in [1] * 200001 %}{% endfor %}\n{% endif %}", 2, "too large"),
    ],
)
def test_runtime_errors_name_the_line_of_the_template_they_happened_on(source, line, words):
    with pytest.raises(MergeError, match=words) as caught:
        merge(source, items=[1], a=True)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "its merge fields are nested too deeply"),
        ("{% if x %}" * 3000 + "{% endif %}" * 3000, "its merge fields are nested too deeply"),
        ("{{ 1" + "9" * 5000 + " }}", "Exceeds the limit (4300 digits) for integer string"),
        ("{% for a in b %}" * 30 + "{% endfor %}" * 30, "too many statically nested blocks"),
    ],
)
def test_sources_python_cannot_compile_say_why_in_words(source, message):
    with pytest.raises(MergeError) as caught:
        compile_template(build_environment(), source)
    assert str(caught.value).startswith(f"the template cannot be compiled: {message}")
    assert caught.value.line is None and "\n" not in str(caught.value)


def test_format_fields_reach_attributes_and_items_through_the_sandbox():
    source = "{{ '{0.real}|{0.imag}|{1[a]}'.format(3, {'a': 2}) }}|{{ markup.format(3) }}"
    assert merge(source, markup=Markup("<i>{0.real}</i>")) == "3|0|2|<i>3</i>"


def test_markup_format_fields_are_sized_too():
    source = "{{ markup.format_map({'a': 'x', 'w': w}) }}"
    markup = Markup("<i>{a:>{w}}</i>")
    assert len(merge(source, markup=markup, w=99_000)) == 99_007
    with pytest.raises(MergeError, match="too large"):
        merge(source, markup=markup, w=100_001)


def test_format_map_takes_exactly_one_mapping():
    for bad in ("{{ '{a}'.format_map({'a': 1}, 2) }}", "{{ '{a}'.format_map(a=1) }}"):
        with pytest.raises(MergeError) as caught:
            merge(bad)
        assert str(caught.value) == "line 1: TypeError: format_map() takes exactly one mapping"


def test_internals_of_objects_in_the_merge_data_stay_out_of_reach():
    out = merge("[{{ gen.gi_frame }}|{{ gen.gi_code }}|{{ f.__code__ }}]", gen=iter([1]), f=len)
    assert out == "[||]"
    out = merge("[{{ gen.gi_frame }}]", gen=(i for i in [1]))
    assert out == "[]"


def test_methods_take_keyword_arguments_too():
    assert merge("{{ 'a,b,c'.split(',', maxsplit=1) | join('+') }}") == "a+b,c"
    assert merge("{{ 'x'.center(width=5, fillchar='*') if false else 'x'.zfill(3) }}") == "00x"


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("a\n\n{{ x | no_such_filter }}", 3, "No filter named 'no_such_filter'."),
        ("a\n{% if x is no_such_test %}{% endif %}", 2, "No test named 'no_such_test'."),
        ("a\nb\n{{ x", 3, "unexpected end of template"),
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", None, "the template cannot be compiled"),
    ],
)
def test_a_parsed_template_names_what_is_wrong_and_where(source, line, message):
    with pytest.raises(MergeError) as caught:
        parse_template(build_environment(), source)
    assert caught.value.line == line and message in caught.value.message


def test_a_parsed_template_with_known_filters_and_tests_is_accepted():
    tree = parse_template(build_environment(), "{{ x | number }}{% if y is defined %}{% endif %}")
    assert tree.body


def test_filters_are_looked_up_among_filters_and_tests_among_tests():
    source = "{{ x | join | money }}{% if y is odd %}{% endif %}"
    assert parse_template(build_environment(), source).body
    with pytest.raises(MergeError, match="No test named 'money'"):
        parse_template(build_environment(), "{% if y is money %}{% endif %}")


def test_a_merge_error_keeps_its_message_and_line_across_processes():
    error = pickle.loads(pickle.dumps(MergeError("bad field", 4)))  # noqa: S301 - our own bytes
    assert (error.message, error.line, str(error)) == ("bad field", 4, "line 4: bad field")
    assert str(MergeError("no line")) == "no line"


def test_slices_take_any_of_their_bounds():
    source = (
        "{{ 'abcdef'[1:] }}|{{ 'abcdef'[:2] }}|{{ 'abcdef'[::2] }}|{{ 'abcdef'[1:5:2] }}|"
        "{{ 'abcdef'[-2:] }}|{{ [1, 2, 3][1:] }}"
    )
    assert merge(source) == "bcdef|ab|ace|bd|ef|[2, 3]"


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("a\n{{ v[1:x] }}", 2, "TypeError: slice indices must be integers or None"),
        ("a\n\n{{ v ~ v ~ v }}", 3, "not allowed: the result would be too large"),
        ("a\n\n\n{{ v.upper().nothing.more }}", 4, "has no attribute 'nothing'"),
        ("a\n{% for i in w %}\n{% for j in w %}{% endfor %}{% endfor %}", 3, "took longer"),
    ],
)
def test_errors_in_slices_concatenations_attributes_and_loops_name_their_line(
    source, line, message
):
    with pytest.raises(MergeError, match=message) as caught:
        merge(source, v="x" * 40000, w="x" * 99999, x="q")
    assert caught.value.line == line


def test_concatenation_is_allowed_up_to_the_bound_and_refused_past_it():
    assert len(merge("{{ x ~ y }}", x="x" * 50000, y="y" * 50000)) == 100_000
    with pytest.raises(MergeError, match="too large"):
        merge("{{ x ~ y }}", x="x" * 50000, y="y" * 50001)


def test_text_parts_concatenate_without_escaping():
    env = build_environment(autoescape=False)
    assert render(compile_template(env, "{{ '<b>' ~ name }}"), {"name": "<x>"}) == "<b><x>"
    assert merge("{{ '<b>' ~ name }}", name="<x>") == "&lt;b&gt;&lt;x&gt;"


def test_line_breaks_come_out_as_the_environment_asks_and_the_last_one_stays():
    env = build_environment(newline="\r\n")
    assert render(compile_template(env, "a\nb\n"), {}) == "a\r\nb\r\n"
    assert merge("a\nb\n") == "a\nb\n"


def test_bounded_filters_keep_their_defaults_and_arguments():
    source = (
        "{{ 'x'|center|length }}|{{ 'a\nb'|indent }}|{{ 'a\n\nb'|indent(2, true, true) }}|"
        "{{ 'aaa'|replace('a', 'b', 2) }}|{{ users|join(', ', attribute='name') }}|"
        "{{ '%(a)s-%(b)s'|format(a=1, b=2) }}|{{ '%s-%s'|format(1, 2) }}|"
        "{{ [1, 2, 3]|slice(2, 0)|list }}|{{ [1, 2, 3]|batch(2)|list }}|"
        "{{ items|sum(attribute='n', start=10) }}|{{ [1, 2]|sum }}"
    )
    users = [{"name": "Ann"}, {"name": "Bob"}]
    assert merge(source, users=users, items=[{"n": 2}, {"n": 3}]) == (
        "80|a\n    b|  a\n  \n  b|bba|Ann, Bob|1-2|1-2|[[1, 2], [3, 0]]|[[1, 2], [3]]|15|3"
    )


def test_wordwrap_passes_on_every_choice():
    source = (
        "{{ 'ab-cd efgh'|wordwrap(3, false) }}|{{ 'ab-cd efgh'|wordwrap(3, true, '/') }}|"
        "{{ 'abc-d-ef'|wordwrap(5, true, '/', false) }}|{{ 'abc-d-ef'|wordwrap(5, true, '/') }}"
    )
    assert merge(source) == "ab-\ncd\nefgh|ab-/cd /efg/h|abc-d/-ef|abc-/d-ef"


def test_join_takes_items_up_to_the_bound_and_refuses_one_more():
    source = "{{ items|join }}"
    assert len(merge(source, items=["x"] * 100_000)) == 100_000
    with pytest.raises(MergeError, match="too large"):
        merge(source, items=["x"] * 100_001)


@pytest.mark.parametrize("name", ["range", "lipsum", "dict", "cycler", "joiner"])
def test_no_globals_are_reachable(name):
    with pytest.raises(MergeError) as caught:
        merge("{{ " + name + "() }}")
    assert caught.value.message == f"'{name}' is undefined"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RecursionError(), "its merge fields are nested too deeply"),
        (MemoryError(), "it is too large"),
        (ValueError("first line\nsecond line"), "first line"),
        (SyntaxError("x" * 300), "x" * 200),
    ],
)
def test_a_compile_error_is_told_in_one_short_line(error, reason):
    assert _reason(error) == reason


def test_a_parsed_template_too_deep_to_compile_says_why():
    with pytest.raises(MergeError) as caught:
        parse_template(build_environment(), "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}")
    assert caught.value.message == (
        "the template cannot be compiled: its merge fields are nested too deeply"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'x'|center('5') }}", "TypeError: 'str' object cannot be interpreted as an integer"),
        (
            "{{ [1]|slice('2')|list }}",
            "TypeError: unsupported operand type(s) for //: 'int' and 'str'",
        ),
    ],
)
def test_a_count_that_is_no_number_is_left_to_the_filter_to_refuse(source, expected):
    with pytest.raises(MergeError) as caught:
        merge(source)
    assert caught.value.message == expected
    assert merge("{{ [1]|batch('2')|list }}") == "[[1]]"


def test_wordwrap_defaults_to_79_columns_breaking_long_words_and_at_hyphens():
    eighty = "x" * 78 + " y"
    long_word = "y" * 100
    hyphened = "a" * 70 + "-" + "b" * 20
    out = merge(
        "{{ a|wordwrap }}|{{ b|wordwrap }}|{{ c|wordwrap }}", a=eighty, b=long_word, c=hyphened
    )
    assert out == (f"{'x' * 78}\ny|{'y' * 79}\n{'y' * 21}|{'a' * 70}-\n{'b' * 20}")


def test_indent_takes_its_choices_by_name_and_text_as_its_width():
    out = merge("{{ t|indent(first=true) }}|{{ t|indent(width='--', first=true) }}", t="a\nb")
    assert out == "    a\n    b|--a\n--b"


@pytest.mark.parametrize(
    ("text", "width", "fits"),
    [
        # one line: the text and one indent make the bound
        ("x" * 99996, 4, True),
        ("x" * 99997, 4, False),
        # 16,667 lines of "x": 33,332 characters and 16,667 indents of 4 make the bound
        ("x\n" * 16666, 4, True),
        ("x\n" * 16667, 4, False),
        ("x\n" * 16666, "----", True),
        ("x\n" * 16667, "----", False),
    ],
)
def test_indent_is_sized_by_its_lines_and_refused_past_the_bound(text, width, fits):
    source = "{{ t|indent(w) }}"
    if fits:
        assert merge(source, t=text, w=width)
    else:
        with pytest.raises(MergeError, match="too large"):
            merge(source, t=text, w=width)


def test_sum_adds_texts_up_to_the_bound_and_refuses_past_it():
    source = "{{ items|sum(start='')|length }}"
    assert merge(source, items=["x" * 50000, "y" * 50000]) == "100000"
    with pytest.raises(MergeError, match="too large"):
        merge(source, items=["x" * 50000, "y" * 50001])


def test_a_merge_field_named_like_a_dict_method_reads_the_field():
    """``order.items`` is the order's items, not the dict's ``items`` method."""
    source = "{{ order.items|join(', ') }}|{{ order.keys }}|{{ order.values.total }}"
    order = {"items": ["tea", "cake"], "keys": "K1", "values": {"total": 5}}
    assert merge(source, order=order) == "tea, cake|K1|5"
    assert merge("{{ order.items()|list|length }}", order={"a": 1, "b": 2}) == "2"


def test_a_merge_that_runs_out_of_memory_says_so():
    """Allocating 2 ** 60 bytes fails at once with a MemoryError."""
    with pytest.raises(MergeError) as caught:
        merge("{{ make(size) }}", make=bytearray, size=2**60)
    assert str(caught.value) == "the template needs too much memory to merge"


def test_a_merge_error_carries_its_message_as_any_exception_does():
    assert MergeError("bad field", 4).args == ("bad field",)


def test_joining_an_endless_sequence_stops_at_the_bound():
    with pytest.raises(MergeError, match="too large"):
        merge("{{ numbers|map('string')|join }}", numbers=itertools.count())


def test_jinja_tests_answer_in_conditions_and_filters():
    source = "{% if 3 is odd %}odd{% endif %}|{{ [1, 2, 3]|select('odd')|list }}|{{ x is defined }}"
    assert merge(source) == "odd|[1, 3]|False"


def test_a_template_that_does_not_parse_names_the_line_when_compiled():
    with pytest.raises(MergeError) as caught:
        compile_template(build_environment(), "a\nb\n{{ x")
    assert str(caught.value) == (
        "line 3: unexpected end of template, expected 'end of print statement'."
    )

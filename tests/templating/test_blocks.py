"""Cutting MJML into builder blocks: exact spans, byte-identical joins, locked vs editable."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mjml_equivalence import EDGE_CASES

from designer.templating.blocks import (
    BlocksUnavailable,
    builder_document,
    builder_markup,
    fold_statements,
    join_blocks,
    split_blocks,
)

LIBRARY = Path(__file__).resolve().parents[2] / "templates_lib"
STARTERS = sorted((LIBRARY / "email").glob("*.mjml"))


def kinds(blocks):
    return [b.kind for b in blocks if b.kind != "space"]


@pytest.mark.parametrize("path", STARTERS, ids=lambda p: p.stem)
def test_every_starter_template_splits_and_joins_byte_for_byte(path):
    source = path.read_text(encoding="utf-8")
    blocks = split_blocks(source)
    assert join_blocks(blocks) == source
    assert blocks[0].kind == "head" and blocks[0].source.rstrip().endswith(">")
    assert "<mj-body" in blocks[0].source and blocks[-1].source.startswith("</mj-body>")
    assert all(source[b.start : b.start + len(b.source)] == b.source for b in blocks)
    sections = [b for b in blocks if b.kind == "section"]
    assert sections and all(b.tag in ("mj-section", "mj-wrapper", "mj-hero") for b in sections)


def test_starter_sections_are_editable_except_comments_and_tables():
    locked = {}
    for path in STARTERS:
        for block in split_blocks(path.read_text(encoding="utf-8")):
            if block.kind == "section" and not block.editable:
                locked.setdefault(path.stem, []).append(block.reason)
    assert locked == {
        "invoice-reminder": ["it contains a comment"],
        "quote-follow-up": ["the builder has no <mj-table>"],
    }


def test_edge_cases_join_byte_for_byte_and_lock_what_the_builder_cannot_hold():
    blocks = split_blocks(EDGE_CASES)
    assert join_blocks(blocks) == EDGE_CASES
    rows = [(b.kind, b.editable, b.source[:12]) for b in blocks if b.kind != "space"]
    assert rows == [
        ("head", False, "<mjml>\n  <mj"),
        ("locked", False, "<!-- greetin"),
        ("locked", False, "{% if contac"),
        ("section", True, "<mj-section>"),
        ("locked", False, "{% else %}"),
        ("section", True, "<mj-section "),
        ("locked", False, "{% endif %}"),
        ("locked", False, "{% for line "),
        ("section", True, "<mj-section>"),
        ("locked", False, "{% endfor %}"),
        ("locked", False, "<mj-raw><p s"),
        ("section", False, "<mj-section>"),
        ("section", False, "<mj-section>"),
        ("section", False, "<mj-section>"),
        ("section", True, "<mj-wrapper "),
        ("section", True, "<mj-hero bac"),
        ("section", False, "<mj-section>"),
        ("tail", False, "</mj-body>\n<"),
    ]
    reasons = [b.reason for b in blocks if b.kind == "section" and not b.editable]
    assert reasons == [
        "it contains a comment",
        "it contains Jinja statements between elements",
        "the builder has no <mj-table>",
        "an attribute value holds a double quote",
    ]


def test_whitespace_between_blocks_is_its_own_block():
    source = "<mjml><mj-body>\n\n  <mj-section />  \n</mj-body></mjml>"
    blocks = split_blocks(source)
    assert [(b.kind, b.source) for b in blocks] == [
        ("head", "<mjml><mj-body>"),
        ("space", "\n\n  "),
        ("section", "<mj-section />"),
        ("space", "  \n"),
        ("tail", "</mj-body></mjml>"),
    ]
    assert blocks[2].editable


def test_stray_text_and_unbalanced_elements_stay_locked_and_verbatim():
    source = "<mjml><mj-body> hello {{ x }} <mj-section><mj-column></mj-body></mjml>"
    blocks = split_blocks(source)
    assert join_blocks(blocks) == source
    assert all(not b.editable for b in blocks)
    assert "locked" in kinds(blocks)


@pytest.mark.parametrize(
    "source, message",
    [
        ("<mjml><mj-head></mj-head></mjml>", "no <mj-body>"),
        ("<mjml><mj-body /></mjml>", "is empty"),
        ("<mjml><mj-body><mj-section></mj-section></mjml>", "not closed"),
        ("", "no <mj-body>"),
        ("<!-- <mj-body> --><mjml></mjml>", "no <mj-body>"),
    ],
)
def test_sources_without_a_usable_body_are_refused(source, message):
    with pytest.raises(BlocksUnavailable, match=message):
        split_blocks(source)


def test_builder_markup_writes_out_void_tags_and_chips_merge_fields_in_text():
    section = (
        '<mj-section><mj-column><mj-image src="{{ company.logo_url }}" />'
        '<mj-text>Hi {{ contact.first_name | default("you") }}{% if x %}!{% endif %}'
        '<a href="{{ url }}">go</a></mj-text></mj-column></mj-section>'
    )
    markup = builder_markup(section)
    assert '<mj-image src="{{ company.logo_url }}"></mj-image>' in markup
    assert (
        'Hi <span data-designer-field="{{ contact.first_name | default(&quot;you&quot;) }}"></span>'
    ) in markup
    assert '<span data-designer-field="{% if x %}"></span>!' in markup
    assert '<a href="{{ url }}">go</a>' in markup  # merge fields in attributes stay as they are


def test_builder_document_carries_body_attributes_and_only_the_heads_defaults():
    document = builder_document(EDGE_CASES)
    assert document["body_attributes"] == {"background-color": "#fafafa"}
    head = document["canvas_head"]
    assert head.startswith("<mj-head><mj-attributes>") and 'mj-class name="note"' in head
    assert "mj-preview" not in head
    editable = [b for b in document["blocks"] if b["editable"]]
    assert all("markup" in b for b in editable)
    assert not any("markup" in b for b in document["blocks"] if not b["editable"])
    json.dumps(document)  # the page embeds it as JSON


SECTION = (
    "<mj-section><mj-column><mj-text>Hi {{ contact.first_name }}</mj-text></mj-column></mj-section>"
)


def body(inner):
    return f"<mjml>\n  <mj-body>\n    {inner}\n  </mj-body>\n</mjml>\n"


def test_a_condition_and_a_loop_around_a_section_fold_into_it():
    source = body(
        f"{{% if contact.email %}}\n    {{%  for line in invoice.lines %}}{SECTION}\n"
        "    {% endfor %}\n    {% endif  %}\n    <mj-section />"
    )
    document = builder_document(source)
    rows = [b for b in document["blocks"] if b["kind"] != "space"]
    assert [(b["kind"], b["condition"], b["loop"]) for b in rows] == [
        ("head", "", ""),
        ("section", "contact.email", "line in invoice.lines"),
        ("section", "", ""),
        ("tail", "", ""),
    ]
    folded = rows[1]
    assert folded["source"].startswith("{% if contact.email %}")
    assert folded["source"].endswith("{% endfor %}\n    {% endif  %}")
    assert folded["section"] == SECTION and folded["editable"] and folded["tag"] == "mj-section"
    assert folded["markup"] == builder_markup(SECTION)
    assert "".join(b["source"] for b in document["blocks"]) == source
    assert [b["id"] for b in document["blocks"]] == list(range(len(document["blocks"])))
    assert all(
        source[b["start"] : b["start"] + len(b["source"])] == b["source"]
        for b in document["blocks"]
    )


def test_a_loop_alone_folds_and_split_blocks_itself_keeps_the_statements_apart():
    source = body(f"{{% for item in items %}}{SECTION}{{% endfor %}}")
    (folded,) = [b for b in builder_document(source)["blocks"] if b["kind"] == "section"]
    assert (folded["condition"], folded["loop"]) == ("", "item in items")
    assert kinds(split_blocks(source)) == ["head", "locked", "section", "locked", "tail"]


@pytest.mark.parametrize(
    "inner",
    [
        f"{{% if a %}}{SECTION}{{% else %}}{SECTION}{{% endif %}}",  # else: not one condition
        f"{{%- if a %}}{SECTION}{{% endif %}}",  # whitespace control the builder would drop
        f"{{% if a -%}}{SECTION}{{% endif %}}",
        f"{{% if a %}}{SECTION}{{%- endif %}}",
        f"{{% if a %}}<!-- c -->{SECTION}{{% endif %}}",  # not directly before
        f"{{% if a %}}{SECTION}{SECTION}{{% endif %}}",  # around two sections
        f"{{% if a %}}{SECTION}",  # no endif
        "{% if a %}<mj-section><mj-column><!-- c --></mj-column></mj-section>{% endif %}",  # locked
        f"{{% for x in y %}}{SECTION}{{% endif %}}",  # mismatched
        f"{{% elif a %}}{SECTION}{{% endif %}}",
        f"{{% if %}}{SECTION}{{% endif %}}",  # no expression
    ],
)
def test_statements_the_builder_cannot_own_stay_locked(inner):
    source = body(inner)
    blocks = fold_statements(split_blocks(source))
    assert not any(b.condition or b.loop for b in blocks)
    assert join_blocks(blocks) == source


def test_a_loop_outside_a_condition_stays_locked_around_the_folded_condition():
    source = body(f"{{% for x in y %}}{{% if x.ok %}}{SECTION}{{% endif %}}{{% endfor %}}")
    blocks = fold_statements(split_blocks(source))
    assert [(b.kind, b.condition, b.loop) for b in blocks if b.kind != "space"] == [
        ("head", "", ""),
        ("locked", "", ""),
        ("section", "x.ok", ""),
        ("locked", "", ""),
        ("tail", "", ""),
    ]
    assert join_blocks(blocks) == source


FRAGMENTS = st.sampled_from(
    [
        "\n    ",
        " ",
        "<mj-section><mj-column><mj-text>a</mj-text></mj-column></mj-section>",
        "<mj-section />",
        "{% if a %}",
        "{% endif %}",
        "<!-- c -->",
        "<mj-raw><b>x</b></mj-raw>",
        "{{ contact.first_name }}",
        "text",
        "<mj-wrapper><mj-section /></mj-wrapper>",
        "<",
        ">",
        "<mj-section>",
        "</mj-section>",
        '<mj-hero a="1">',
        "</mj-hero>",
        "&amp;",
        "\r\n",
        "{% for x in y %}",
        "{% endfor %}",
        "{% if b -%}",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(FRAGMENTS, max_size=12))
def test_any_body_joins_back_byte_for_byte(parts):
    source = "<mjml>\n  <mj-body>" + "".join(parts) + "</mj-body>\n</mjml>\n"
    assert join_blocks(split_blocks(source)) == source
    blocks = builder_document(source)["blocks"]
    assert "".join(b["source"] for b in blocks) == source

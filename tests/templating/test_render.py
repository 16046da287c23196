"""Rendering without tracking writes static links in place: the same mail, parsed faster."""

from types import SimpleNamespace

from designer.templating.compiler import compile_source
from designer.templating.render import LINK_TAG, VersionRenderer

SOURCE = """<mjml><mj-body><mj-section><mj-column>
  <mj-text>Hi {{ contact.first_name }}:
    <a href="https://example.com/a?x=1&amp;y=2">static</a>
    <a href="https://example.com/p/{{ contact.first_name }}">dynamic</a>
    <a href="https://example.com/b">another &lt;static&gt;</a></mj-text>
</mj-column></mj-section></mj-body></mjml>
"""
DATA = {"contact": {"first_name": "Ann"}, "locale": "en"}


def version():
    compiled = compile_source("mjml", SOURCE)
    return SimpleNamespace(
        id=None,
        compiled_html=compiled.html,
        text_template=compiled.text,
        text_override="",
        subject="Hi {{ contact.first_name }}",
        preheader="",
        links=list(compiled.links),
    )


def test_untracked_renders_match_renders_with_the_links_given():
    tracked = VersionRenderer(version())
    untracked = VersionRenderer(version(), tracked=False)
    expected = tracked.render(DATA, tracked_links=tracked.link_targets(DATA))
    assert untracked.render(DATA) == expected
    assert 'href="https://example.com/a?x=1&amp;y=2"' in expected.html
    assert (
        "https://example.com/p/Ann" in expected.html and "<https://example.com/b>" in expected.text
    )


def test_only_links_with_merge_fields_stay_merge_tags():
    renderer = VersionRenderer(version(), tracked=False)
    _, text, html = renderer.sources
    assert [int(m.group(1)) for m in LINK_TAG.finditer(html)] == [1]
    assert [int(m.group(1)) for m in LINK_TAG.finditer(text)] == [1]

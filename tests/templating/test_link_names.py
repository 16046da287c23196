"""Tracked links are named by their anchors (text, image alt, data-name, title), and a
merge-field URL reads as its field, so a report lists links as the marketer wrote them."""

from types import SimpleNamespace

import pytest

from designer.templating import compile_source
from designer.templating.link_names import MAX_NAME, link_names, names_in, shown_url

MJML = """<mjml><mj-body><mj-section><mj-column>
  <mj-image src="https://cdn.example.com/sale.png" alt="Spring sale"
    href="https://shop.example.com/sale" />
  <mj-button href="{{ company.website }}">Visit   our
     site</mj-button>
  <mj-text>
    <a href="https://shop.example.com/?id={{ contact.id }}" data-name="Personal offer">here</a>
    <a href="https://example.com/help" title="Help centre"><img src="https://cdn.example.com/i.png"></a>
    <a href="https://example.com/hi">Hello <b>{{ contact.first_name }}</b> &amp; welcome</a>
    <a href="https://example.com/blank"><img src="https://cdn.example.com/b.png"></a>
    <a href="{{ unsubscribe_url }}">Unsubscribe</a>
  </mj-text>
</mj-column></mj-section></mj-body></mjml>"""


@pytest.fixture(scope="module")
def compiled():
    return compile_source("mjml", MJML, text_part=False)


def test_each_tracked_link_is_named_by_its_anchor(compiled):
    assert [link["name"] for link in compiled.links] == [
        "Spring sale",  # a linked image: its alt
        "Visit our site",  # a button: its text, spaces collapsed
        "Personal offer",  # data-name wins over the text
        "Help centre",  # an image without alt: the anchor's title
        "Hello [contact.first_name] & welcome",  # merge fields by their path
        "",  # nothing to name it by
    ]
    assert [link["url"] for link in compiled.links][:3] == [
        "https://shop.example.com/sale",
        "{{ company.website }}",
        "https://shop.example.com/?id={{ contact.id }}",
    ]


def test_an_html_template_names_its_links_too():
    html = (
        '<html><body><p><a title="Ignored" href="https://example.com/a">Read <i>more</i></a>'
        "<a href='https://example.com/b' title='Our &quot;blog&quot;'></a></p></body></html>"
    )
    links = compile_source("html", html, text_part=False).links
    assert [link["name"] for link in links] == ["Read more", 'Our "blog"']


def test_a_version_saved_before_links_had_names_gets_them_from_its_html(compiled):
    old = SimpleNamespace(
        links=[{"url": link["url"]} for link in compiled.links], compiled_html=compiled.html
    )
    assert link_names(old) == [link["name"] for link in compiled.links]
    assert names_in(compiled.html)[0] == "Spring sale"
    stored = SimpleNamespace(links=[{"url": "https://a.example", "name": "Shop"}], compiled_html="")
    assert link_names(stored) == ["Shop"]


def test_a_link_missing_from_old_html_has_no_name():
    old = SimpleNamespace(links=[{"url": "https://a.example"}], compiled_html="<p>no links</p>")
    assert link_names(old) == [""]
    assert link_names(SimpleNamespace(links=None, compiled_html=None)) == []


def test_broken_markup_names_what_it_can():
    unclosed = '<a href="{{ __tl[0] }}">Never closed <b>bold'
    assert names_in(unclosed) == {0: ""}
    no_tag_end = '<a href="{{ __tl[0] }}" title="x'
    assert names_in(no_tag_end) == {0: ""}
    quoted = '<a href="{{ __tl[0] }}" data-title="not me" title="a > b">{% if x %}{% endif %}</a>'
    assert names_in(quoted) == {0: "a > b"}


def test_a_long_name_is_cut():
    html = f'<a href="{{{{ __tl[0] }}}}">{"word " * 40}</a>'
    name = names_in(html)[0]
    assert len(name) == MAX_NAME and name.endswith("…")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("{{ company.website }}", "company.website (merge field)"),
        ("{{company.website|default('https://example.com')}}", "company.website (merge field)"),
        ("  {{- contact.organisation.website -}} ", "contact.organisation.website (merge field)"),
        (
            "https://shop.example.com/?id={{ contact.id }}",
            "https://shop.example.com/?id=[contact.id]",
        ),
        ("https://example.com/plain", "https://example.com/plain"),
        ("{{ 'https://' ~ x }}", "'https://' ~ x (merge field)"),
    ],
)
def test_a_merge_field_url_reads_as_its_field(url, shown):
    assert shown_url(url) == shown

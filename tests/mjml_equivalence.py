"""Equivalence of compiled e-mail HTML: same text, links, images, merge fields and structure.

Two HTML documents are equivalent when they read as the same sequence of
elements (attributes and class names in any order, inline styles without
spacing), text
(whitespace runs collapsed, entities decoded) and comments. Used to show
that the visual builder's MJML compiles to what the author's MJML did.
"""

import re
from html.parser import HTMLParser

from designer.templating.compiler import compile_mjml

#: Hand-written edge cases: Jinja around sections, mj-raw, mj-attributes/mj-class, comments.
EDGE_CASES = """<mjml>
  <mj-head>
    <mj-attributes>
      <mj-all font-family="Arial" />
      <mj-class name="note" color="#555555" font-size="13px" />
    </mj-attributes>
    <mj-preview>Hello {{ contact.first_name }}</mj-preview>
  </mj-head>
  <mj-body background-color="#fafafa">
    <!-- greeting, per language -->
    {% if contact.language == "nl" %}
    <mj-section><mj-column><mj-text mj-class="note">Hallo {{ contact.first_name }}</mj-text></mj-column></mj-section>
    {% else %}
    <mj-section css-class="greeting"><mj-column><mj-text>Hello {{ contact.first_name | default("there", true) }}</mj-text></mj-column></mj-section>
    {% endif %}
    {% for line in invoice.lines %}<mj-section><mj-column><mj-text>{{ line.name }}</mj-text></mj-column></mj-section>{% endfor %}
    <mj-raw><p style="margin:0">raw   HTML</p></mj-raw>
    <mj-section><mj-column><!-- a note --><mj-text>commented</mj-text></mj-column></mj-section>
    <mj-section><mj-column>{% if organisation.name %}<mj-text>{{ organisation.name }}</mj-text>{% endif %}</mj-column></mj-section>
    <mj-section><mj-column><mj-table><tr><td>{% for l in invoice.lines %}{{ l.name }}</td></tr><tr><td>{% endfor %}</td></tr></mj-table></mj-column></mj-section>
    <mj-wrapper padding="4px"><mj-section><mj-column><mj-image src="https://example.com/a.png" alt="A" /><mj-divider /></mj-column></mj-section></mj-wrapper>
    <mj-hero background-url="https://example.com/h.jpg"><mj-text>Hero</mj-text></mj-hero>
    <mj-section><mj-column><mj-button href="{{ organisation.website }}" title='Say "hi"'>Go</mj-button></mj-column></mj-section>
  </mj-body>
</mjml>
"""  # noqa: E501


class _Canonical(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.items = []

    def _attrs(self, attrs):
        canonical = []
        for name, value in attrs:
            value = re.sub(r"\s+", " ", value or "").strip()
            if name == "class":
                value = " ".join(sorted(value.split()))
            elif name == "style":
                value = re.sub(r"\s*([:;])\s*", r"\1", value).rstrip(";")
            canonical.append((name, value))
        return tuple(sorted(canonical))

    def handle_starttag(self, tag, attrs):
        self.items.append(("start", tag, self._attrs(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.items.append(("start", tag, self._attrs(attrs)))

    def handle_endtag(self, tag):
        self.items.append(("end", tag))

    def handle_data(self, data):
        text = re.sub(r"\s+", " ", data)
        if text.strip():
            if self.items and self.items[-1][0] == "text":
                self.items[-1] = ("text", re.sub(r"\s+", " ", self.items[-1][1] + text))
            else:
                self.items.append(("text", text))

    def handle_comment(self, data):
        self.items.append(("comment", re.sub(r"\s+", " ", data).strip()))


def canonical_html(html):
    """``html`` as a list of canonical items (see the module docstring)."""
    parser = _Canonical()
    parser.feed(html)
    parser.close()
    return [
        (kind, value.strip()) if kind == "text" else (kind, *rest)
        for kind, value, *rest in parser.items
    ]


def compiled_equivalent(mjml_a, mjml_b):
    """True when both MJML sources compile to equivalent HTML."""
    return canonical_html(compile_mjml(mjml_a)) == canonical_html(compile_mjml(mjml_b))

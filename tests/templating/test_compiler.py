"""Compiling and saving templates: MJML, HTML, errors with lines, nothing saved on error."""

import pytest

from designer import templating
from designer.extensions import db
from designer.templating import Template, TemplateInvalid, compile_source


def test_mjml_compiles_to_html_and_text_with_merge_fields_kept():
    compiled = compile_source(
        "mjml",
        "<mjml><mj-body><mj-section><mj-column>"
        "<mj-text>Hi {{ contact.first_name }}</mj-text>"
        "</mj-column></mj-section></mj-body></mjml>",
    )
    assert "<!doctype html>" in compiled.html.lower()
    assert "{{ contact.first_name }}" in compiled.html
    assert "Hi {{ contact.first_name }}" in compiled.text


def test_malformed_mjml_names_the_line():
    source = (
        "<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n<mj-text>Hi</mj-text>\n</mj-body>\n</mjml>"
    )
    with pytest.raises(TemplateInvalid) as caught:
        compile_source("mjml", source)
    assert caught.value.line is not None
    assert "MJML error" in caught.value.message


@pytest.mark.parametrize(
    "include",
    [
        '<mj-include path="/etc/passwd" />',
        '<mj-include path="../../secrets.mjml" />',
        '<MJ-INCLUDE path="header.mjml"/>',
    ],
)
def test_mj_include_is_refused_with_its_line(include):
    source = f"<mjml>\n<mj-body>\n{include}\n</mj-body>\n</mjml>"
    with pytest.raises(TemplateInvalid) as caught:
        compile_source("mjml", source)
    assert "mj-include is not allowed" in caught.value.message
    assert caught.value.line == 3


def test_jinja_syntax_error_names_the_line():
    source = (
        "<mjml><mj-body>\n<mj-section><mj-column>\n"
        "<mj-text>{{ contact.first_name </mj-text>\n"
        "</mj-column></mj-section></mj-body></mjml>"
    )
    with pytest.raises(TemplateInvalid) as caught:
        compile_source("mjml", source)
    assert caught.value.line == 3
    assert "merge field syntax error" in caught.value.message


def test_html_source_gets_css_inlined():
    html = (
        "<html><head><style>p { color: red }</style></head>"
        "<body><p>Hi {{ contact.first_name }}</p></body></html>"
    )
    compiled = compile_source("html", html)
    assert 'style="color: red' in compiled.html
    assert "{{ contact.first_name }}" in compiled.html


def test_invalid_template_saves_nothing(app, people):
    with pytest.raises(TemplateInvalid):
        templating.create_template("Broken", "<mjml><mj-body>", user=people.admin)
    assert db.session.scalar(db.select(db.func.count(Template.id))) == 0


def test_every_save_adds_an_immutable_version(app, welcome):
    first = welcome.current
    second = templating.add_version(welcome, first.source.replace("Start", "Begin"))
    assert [v.number for v in welcome.versions] == [1, 2]
    assert "Start" in first.compiled_html and "Begin" in second.compiled_html
    assert second.subject == first.subject


def test_failed_new_version_keeps_the_old_one(app, welcome):
    with pytest.raises(TemplateInvalid):
        templating.add_version(welcome, "<mjml><mj-body><mj-include path='x'/></mj-body></mjml>")
    db.session.rollback()
    assert [v.number for v in welcome.versions] == [1]


def test_import_file_reads_mjml_and_subject(app, tmp_path):
    path = tmp_path / "spring-sale.mjml"
    path.write_text(
        "<mjml><mj-head><mj-title>Spring sale</mj-title></mj-head><mj-body>"
        "<mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section>"
        "</mj-body></mjml>"
    )
    template = templating.import_file(path)
    assert template.name == "Spring Sale"
    assert template.current.subject == "Spring sale"


def test_import_refuses_other_file_types(app, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(TemplateInvalid, match=r"expected a \.mjml or \.html file"):
        templating.import_file(path)


def test_crlf_from_browser_forms_is_accepted_and_stored_as_lf(app, people):
    source = (
        "<mjml>\r\n<mj-head>\r\n<mj-title>Hi</mj-title>\r\n</mj-head>\r\n<mj-body>"
        "<mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section>"
        "</mj-body>\r\n</mjml>"
    )
    template = templating.create_template("Crlf", source)
    assert "\r" not in template.current.source


TABLE_LOOP = """<html><head><style>td { padding: 4px }</style></head><body><table>
<tr><th>Item</th><th>Price</th></tr>
{% for line in invoice.lines %}
<tr><td>{{ line.name }}</td><td>{{ line.net }}</td></tr>
{% endfor %}
</table></body></html>"""


def test_loops_between_table_rows_survive_inlining_and_the_text_part():
    from designer.templating.sandbox import build_environment, compile_template, render

    compiled = compile_source("html", TABLE_LOOP)
    data = {
        "invoice": {"lines": [{"name": "Tea", "net": 2}, {"name": "Cake", "net": 3}]},
        "__tl": [],
    }
    html = render(compile_template(build_environment(), compiled.html), data)
    assert html.index("<th") < html.index("Tea") < html.index("Cake") < html.index("</table>")
    assert 'style="padding: 4px' in html
    text = render(compile_template(build_environment(autoescape=False), compiled.text), data)
    assert "Tea" in text and "Cake" in text


def test_mjml_table_loop_text_part_merges():
    from designer.templating.sandbox import build_environment, compile_template, render

    source = (
        "<mjml><mj-body><mj-section><mj-column><mj-table><tr><th>Item</th></tr>"
        "{% for line in invoice.lines %}<tr><td>{{ line.name }}</td></tr>{% endfor %}"
        "</mj-table></mj-column></mj-section></mj-body></mjml>"
    )
    compiled = compile_source("mjml", source)
    data = {"invoice": {"lines": [{"name": "Tea"}, {"name": "Cake"}]}, "__tl": []}
    text = render(compile_template(build_environment(autoescape=False), compiled.text), data)
    assert "Tea" in text and "Cake" in text

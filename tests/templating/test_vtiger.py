"""Importing vtiger e-mail templates and EMAIL Maker exports: mapping, reports, safety."""

import base64
from pathlib import Path

import pytest

from designer.extensions import db
from designer.settings import set_company
from designer.templating import Template, TemplateInvalid, compile_source
from designer.templating.preview import preview_html
from designer.templating.versions import lint
from designer.templating.vtiger import (
    VARIABLE,
    convert,
    import_vtiger,
    looks_like_vtiger,
    parse_export,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vtiger"
HTML_SAMPLE = FIXTURES / "welcome-contact.html"
XML_SAMPLE = FIXTURES / "emailmaker-export.xml"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<export><template><templatename>Laughs</templatename><module>Contacts</module>
<body>&lol9;</body></template></export>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE export [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<export><template><templatename>Leak</templatename><body>&secret;</body></template></export>
"""


def line_of(text, needle):
    return text[: text.index(needle)].count("\n") + 1


def template_count():
    return db.session.scalar(db.select(db.func.count(Template.id)))


def normalised(html):
    return " ".join(html.split())


def test_variable_pattern_matches_vtiger_tokens_only():
    assert VARIABLE.fullmatch("$contacts-firstname$")
    assert VARIABLE.fullmatch("$s-companyname$")
    assert VARIABLE.fullmatch("$invoice-accountid:accountname$")
    assert VARIABLE.fullmatch("$r-contacts-firstname$")
    assert not VARIABLE.search("costs $5-10$ or $ 3-4 $")
    assert looks_like_vtiger("Hi $contacts-firstname$")
    assert not looks_like_vtiger("<p>Hi {{ contact.first_name }}, it costs $5.</p>")


def test_sample_template_maps_the_listed_variables_and_reports_the_rest():
    source = HTML_SAMPLE.read_text(encoding="utf-8")
    result = convert(source)
    mapped = dict(result.mapped)
    assert mapped["$contacts-firstname$"] == "contact.first_name"
    assert mapped["$contacts-lastname$"] == "contact.last_name"
    assert mapped["$contacts-salutationtype$"] == "contact.salutation"
    assert mapped["$contacts-email$"] == "contact.email"
    assert mapped["$accounts-accountname$"] == "organisation.name"
    assert mapped["$accounts-bill_city$"] == "organisation.city"
    assert mapped["$users-first_name$ $users-last_name$"] == "sender.name"
    assert mapped["$users-email1$"] == "sender.email"
    assert mapped["$users-title$"] == "sender.title"
    assert mapped["$companydetails-organizationname$"] == "company.name"
    assert mapped["$custom-currentdate$"] == "now | date"
    assert [(u.variable, u.line) for u in result.unmapped] == [
        ("$contacts-contact_no$", line_of(source, "$contacts-contact_no$")),
    ]
    assert "line" in str(result.unmapped[0]) and "record numbers" in str(result.unmapped[0])
    assert "{{ contact.first_name }}" in result.text
    assert 'href="mailto:{{ contact.email }}"' in result.text
    assert "$contacts-firstname$" not in result.text
    assert "$contacts-contact_no$" in result.text  # left as it was
    compiled = compile_source("html", result.text)
    assert "{{ organisation.name }}" in compiled.html


def test_imported_html_template_renders_for_a_contact(people):
    set_company(
        {
            "name": "Designer BV",
            "address": "Keizersgracht 1, Amsterdam",
            "website": "https://designer.example",
        }
    )
    [(template, conversion, report)] = import_vtiger(HTML_SAMPLE, user=people.admin)
    assert template.name == "Welcome Contact"
    assert template.source_type == "html" and template.module == "contact"
    assert template.current.subject == "Welcome to our newsletter, {{ contact.first_name }}"
    assert {u.variable for u in conversion.unmapped} == {"$contacts-contact_no$"}
    assert report.template_id == template.id

    rendered = preview_html(template, people.jan, people.admin)
    html = normalised(rendered.html)
    assert rendered.subject == "Welcome to our newsletter, Jan"
    assert "Jan de Vries," in html
    assert "<strong>Bakkerij De Vries</strong> in Utrecht" in html
    assert 'href="mailto:jan@devries.example"' in html
    assert "Kind regards,<br> Ada Admin<br>" in html
    assert "Designer BV" in html and "https://designer.example" in html
    assert "{{" not in html and "$contacts-firstname$" not in html
    assert "$contacts-contact_no$" in html  # not converted: reported and flagged
    assert "Ada Admin" in rendered.text
    warnings = [str(w) for w in lint(template, template.current.source)]
    assert any("$contacts-contact_no$" in w and "prints as it is" in w for w in warnings)


def test_emailmaker_export_creates_two_templates(people):
    parsed = parse_export(XML_SAMPLE)
    assert [(t.name, t.module, t.vtiger_module) for t in parsed] == [
        ("Welcome new contact", "contact", "Contacts"),
        ("Invoice reminder", "invoice", "Invoice"),
    ]
    assert "$s-invoice-invoice_no$" in parsed[1].body  # base64 body decoded

    results = import_vtiger(XML_SAMPLE, user=people.admin)
    assert len(results) == 2 and template_count() == 2
    (welcome, welcome_report, _), (invoice, invoice_report, _) = results
    assert welcome.module == "contact" and invoice.module == "invoice"
    assert welcome.description == "Sent when a contact is created (workflow)"
    assert welcome.current.subject == "Welcome {{ contact.first_name }}, from {{ company.name }}"
    assert invoice.current.subject == (
        '{{ labels["Invoice"] }} {{ document.number }} is due on {{ document.due_date | date }}'
    )
    assert '{{ (document.total) | number("#,##0.00") }}' in invoice.current.source
    assert "{{ organisation.name }}" in invoice.current.source  # $r-account_id-accounts-…$
    assert "{% for line in document.lines %}" in invoice.current.source
    assert {u.variable for u in welcome_report.unmapped} == {
        "$contacts-leadsource$",
        "%PERS_UNSUB%",
    }
    assert {u.variable for u in invoice_report.unmapped} == {"$s-invoice-vtiger_purchaseorder$"}
    assert invoice.labels["de"]["Invoice"] == "Rechnung"

    set_company({"name": "Designer BV"})
    rendered = preview_html(welcome, people.jan, people.admin)
    html = normalised(rendered.html)
    assert rendered.subject == "Welcome Jan, from Designer BV"
    assert "Hello Jan de Vries," in html and "Ada Admin (ada@example.com," in html
    assert "Bakkerij De Vries in Utrecht" in html
    assert "Sent by Ada Admin for Designer BV." in html


@pytest.mark.parametrize(
    "payload",
    [
        BILLION_LAUGHS,
        XXE,
        BILLION_LAUGHS.decode().encode("utf-16"),
        b'<?xml version="1.0"?>\n<!doctype export SYSTEM "http://evil.example/x.dtd"><export/>',
    ],
)
def test_doctype_and_entity_declarations_are_refused(app, tmp_path, payload):
    with pytest.raises(TemplateInvalid, match="DOCTYPE or ENTITY"):
        parse_export(payload)
    path = tmp_path / "export.xml"
    path.write_bytes(payload)
    with pytest.raises(TemplateInvalid, match="DOCTYPE or ENTITY"):
        import_vtiger(path)
    assert template_count() == 0


def test_non_vtiger_html_converts_to_itself():
    source = (
        "<html><head><style>p { color: red }</style></head>"
        "<body><p>Price: $5-$10, {not a tag}</p></body></html>"
    )
    result = convert(source)
    assert result.text == source
    assert result.mapped == [] and result.unmapped == []


def test_literal_jinja_in_the_source_stays_literal():
    source = "<p>{{ 7*7 }} {% if x %} {# c #} {$contacts-firstname$}</p>"
    result = convert(source)
    compile_source("html", result.text)
    from designer.templating.sandbox import build_environment, compile_template, render

    merged = render(
        compile_template(build_environment(), result.text), {"contact": {"first_name": "Jan"}}
    )
    assert merged == "<p>{{ 7*7 }} {% if x %} {# c #} {Jan}</p>"


def test_maker_cdata_escape_and_escaped_html_bodies_are_read():
    escaped = "&lt;p&gt;Hi $contacts-firstname$ &lt;|!|[%|CDATA|[%|x|%]|]|&gt;&lt;/p&gt;"
    encoded = base64.b64encode(b"<p>Hello $accounts-accountname$</p>").decode()
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<export>
  <Template><Name>Escaped</Name><Module>Contacts</Module><TemplateBody>{escaped}</TemplateBody>
  </Template>
  <template><templatename>Guessed</templatename><body>{encoded}</body></template>
</export>""".encode()
    first, second = parse_export(xml)
    assert first.body == "<p>Hi $contacts-firstname$ <![CDATA[x]]></p>"
    assert second.body == "<p>Hello $accounts-accountname$</p>"
    assert second.module == "organisation"


def test_unreadable_files_are_refused_with_a_clear_message(app, tmp_path):
    with pytest.raises(TemplateInvalid, match="cannot read"):
        import_vtiger(tmp_path / "missing.xml")
    broken = tmp_path / "broken.xml"
    broken.write_text("<export><template>", encoding="utf-8")
    with pytest.raises(TemplateInvalid, match="not well-formed XML"):
        import_vtiger(broken)
    empty = tmp_path / "empty.xml"
    empty.write_text("<export/>", encoding="utf-8")
    with pytest.raises(TemplateInvalid, match="no <template> elements"):
        import_vtiger(empty)
    other = tmp_path / "template.docx"
    other.write_bytes(b"PK")
    with pytest.raises(TemplateInvalid, match=r"expected a vtiger \.xml export"):
        import_vtiger(other)
    odd = tmp_path / "odd.xml"
    odd.write_bytes(b'<?xml version="1.0" encoding="cp500"?><export/>')
    with pytest.raises(TemplateInvalid, match="encoded as cp500"):
        import_vtiger(odd)


def test_an_invalid_template_in_an_export_creates_none(app, tmp_path):
    path = tmp_path / "export.xml"
    path.write_text(
        """<export>
<template><templatename>Fine</templatename><body><![CDATA[<p>$contacts-firstname$</p>]]></body>
</template>
<template><templatename>Empty</templatename><body>   </body></template>
</export>""",
        encoding="utf-8",
    )
    with pytest.raises(TemplateInvalid, match="Empty: the template body is empty"):
        import_vtiger(path)
    assert template_count() == 0

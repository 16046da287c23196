"""The template list shows subjects as a marketer reads them, merge fields by their labels."""

from designer.templating.catalogue import labels_of, readable

LABELS = {"contact.first_name": "Contact: first name", "company.name": "Company: name"}


def test_merge_fields_read_as_their_labels_with_filters_and_spaces_dropped():
    subject = 'Welcome to {{ company.name }}, {{- contact.first_name | default("there", true) }}!'
    assert readable(subject, LABELS) == "Welcome to [Company: name], [Contact: first name]!"


def test_statements_are_left_out_and_unknown_fields_show_their_path():
    subject = (
        "{% if contact.first_name %}{{ contact.first_name }}, you{% else %}You{% endif %}"
        " are {{ x.y }}"
    )
    assert readable(subject, LABELS) == "[Contact: first name], youYou are [x.y]"


def test_plain_text_and_odd_braces_stay_as_typed():
    assert readable("50% off {this} week", LABELS) == "50% off {this} week"
    assert readable("{{ }} and {{ 3 }}", LABELS) == "{{ }} and {{ 3 }}"


def test_labels_come_from_each_module_catalogue_once(app):
    labels = labels_of(["contact", "contact", "invoice", "pony"])
    assert set(labels) == {"contact", "invoice"}
    assert labels["contact"]["contact.first_name"] == "Contact: first name"


def test_the_template_list_shows_readable_subjects(admin_client):
    page = " ".join(admin_client.get("/templates").text.split())
    assert "Welcome to [Company: name], [Contact: first name]!" in page
    shown = [
        card.split("</span>")[0].rsplit(">", 1)[-1]
        for card in page.split('class="library-subject">')[1:]
    ]
    assert "Welcome to [Company: name], [Contact: first name]!" in shown
    assert all("{{" not in subject and "{%" not in subject for subject in shown)

"""A large template (a long newsletter, hundreds of KB of MJML) saves from the pages as
from the API, in reasonable time, however the browser encodes the form; one over the
limit is refused in words, not with a bare 413."""

import time

import pytest
from support import csrf_token

from designer.templating.versions import MAX_SOURCE_CHARS

ENCODINGS = ["multipart/form-data", "application/x-www-form-urlencoded"]


def newsletter(size):
    """An MJML newsletter of about ``size`` characters: many sections of text."""
    section = (
        "<mj-section><mj-column><mj-text>Dear {{ contact.firstname }}, "
        + "this week in Northwind news: “prices” & more. " * 30
        + "</mj-text></mj-column></mj-section>\n"
    )
    head, tail = "<mjml><mj-body>", "</mj-body></mjml>"
    body = section * ((size - len(head) - len(tail)) // len(section))
    return head + body + tail


def create(client, source, content_type):
    fields = {"name": "Long newsletter", "source": source, "source_type": "mjml"}
    fields |= {"subject": "News", "language": "en", "module": "contact"}
    fields["csrf_token"] = csrf_token(client, "/templates/new")
    started = time.monotonic()
    answer = client.post("/templates/new", data=fields, content_type=content_type)
    return answer, time.monotonic() - started


@pytest.mark.parametrize("content_type", ENCODINGS)
def test_a_560_kb_template_is_created_saved_and_opened_from_the_pages(admin_client, content_type):
    source = newsletter(560_000)
    answer, took = create(admin_client, source, content_type)
    assert answer.status_code == 302, answer.text[:300]
    assert took < 10, took  # about 0.3 s on two busy cores
    editor = answer.headers["Location"]

    started = time.monotonic()
    page = admin_client.get(editor)
    assert page.status_code == 200 and "this week in Northwind news" in page.text
    assert time.monotonic() - started < 10

    edited = source.replace("Dear", "Hello", 1)
    token = csrf_token(admin_client, editor)
    saved = admin_client.post(
        editor,
        data={"csrf_token": token, "source": edited, "subject": "News"},
        content_type=content_type,
    )
    assert saved.status_code == 302, saved.text[:300]
    assert "Saved as version 2" in admin_client.get(editor).text


def test_the_largest_source_is_accepted_and_one_character_more_is_refused_in_words(
    admin_client,
):
    source = newsletter(MAX_SOURCE_CHARS)
    assert len(source) <= MAX_SOURCE_CHARS
    answer, _ = create(admin_client, source, "multipart/form-data")
    assert answer.status_code == 302, answer.text[:300]

    too_long = source.replace("<mj-body>", "<mj-body>" + "x" * (MAX_SOURCE_CHARS + 1 - len(source)))
    answer, _ = create(admin_client, too_long, "application/x-www-form-urlencoded")
    assert answer.status_code == 400
    assert "characters long; at most 2,000,000 are accepted" in answer.text
    assert "Long newsletter" in answer.text  # the name typed is kept on the page

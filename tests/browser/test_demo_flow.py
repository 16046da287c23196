"""The demo flow as a new user tries it, in a real Chromium against ``designer serve``.

Log in, open a template, preview it for a contact, pick a merge field from the
catalogue, send it, see it in the Outbox, load the pixel twice, see 2 on the
organisation page.
"""

import re
from email import message_from_string, policy

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def log_in(page, served, email="marketer@example.com"):
    page.goto(f"{served.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Templates")


def menu_click(page, label):
    """Follow a main-menu link as a person would: on a narrow screen, open the menu first."""
    toggle = page.locator("button.menu-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    page.locator(".mainnav").get_by_role("link", name=label, exact=True).click()


def test_log_in_open_editor_and_see_the_preview(page, served):
    log_in(page, served)
    page.click("text=Welcome")
    expect(page.locator("#source")).to_contain_text("<mjml>")
    chosen = page.locator("#preview-contact-query").input_value()
    first_name = chosen.split()[0]
    preview = page.frame_locator("#preview")
    expect(preview.locator("body")).to_contain_text(first_name)
    expect(page.locator("#preview-subject")).to_contain_text(first_name)


def test_typing_refreshes_the_preview_and_errors_show_the_line(page, served):
    log_in(page, served)
    page.click("text=Welcome")
    expect(page.locator(".cm-editor")).to_be_visible()  # CodeMirror from the npm bundle
    original = page.locator("#source").input_value()
    editor = page.locator(".cm-content")
    editor.fill(original.replace("</mj-text>", " Typed text</mj-text>", 1))
    expect(page.frame_locator("#preview").locator("body")).to_contain_text("Typed text")
    editor.fill("<mjml>\n<mj-body>\n{{ broken\n</mj-body></mjml>")
    expect(page.locator("#preview-error")).to_contain_text(re.compile(r"Line \d+"))


def test_the_field_picker_lists_the_catalogue_and_inserts_a_field(page, served):
    log_in(page, served)
    page.click("text=Welcome")
    expect(page.locator(".cm-editor")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/fields/contact")) as loaded:
        page.click("#field-picker summary")
    assert loaded.value.ok
    page.fill("#field-search", "organisation name")
    option = page.locator("#field-list .field-option[data-field='organisation.name']")
    expect(option).to_contain_text("Organisation: name")
    before = page.evaluate("window.DesignerEditor.getValue()").count("{{ organisation.name }}")
    option.click()
    after = page.evaluate("window.DesignerEditor.getValue()").count("{{ organisation.name }}")
    assert after == before + 1
    page.fill("#field-search", "no such field at all")
    expect(page.locator("#field-picker-status")).to_contain_text("No merge field matches")


def test_send_see_outbox_open_twice_and_count_on_organisation(page, served):
    log_in(page, served)
    page.click("text=Welcome")
    contact_label = page.locator("#send-contact-query").input_value()
    email = re.search(r"<([^>]+)>", contact_label).group(1)
    page.click("nav >> text=Outbox")
    rows = page.locator("tr", has_text=email)
    earlier = rows.count()  # other tests may have mailed this contact already
    page.go_back()
    page.click("text=Send to contact")
    page.click(f"button:has-text('Send to {email}')")
    flash = page.locator(".flash-success")
    expect(flash).to_contain_text("Queued message")
    message_id = re.search(r"#(\d+)", flash.inner_text()).group(1)

    page.click("nav >> text=Outbox")
    for _ in range(60):  # until the worker has delivered ours (the newest comes first)
        if rows.count() > earlier:
            break
        page.wait_for_timeout(250)
        page.reload()
    rows.first.locator("a").first.click()
    expect(page.locator("body")).to_contain_text("Message-ID")
    raw = page.locator("pre.code-raw").inner_text()  # the source as the catcher received it
    html = message_from_string(raw, policy=policy.default).get_body(("html",)).get_content()
    pixel = re.search(r'<img src="([^"]+/o/[^"]+\.gif)"', html).group(1)
    for _ in range(2):
        response = page.request.get(pixel)
        assert response.ok and response.headers["content-type"] == "image/gif"

    [found] = page.request.get(f"{served.url}/records/search/contact?q={email}").json()["results"]
    organisation = found["detail"].split(" · ")[0]  # the picker's detail line
    page.click("nav >> text=Organisations")
    page.click(f"text={organisation}")
    count = page.locator(f'.open-count[data-message-id="{message_id}"]')
    # The page writes buffered hits before it shows counts (waiting for a flush already
    # running); a page drawn while the machine is very busy may still be a flush behind,
    # as a person would see by reloading. A hit lost would never show.
    for _ in range(20):
        if count.inner_text() == "2":
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(count).to_have_text("2")

"""The template library in a real Chromium on a phone (390 px) and a laptop (1366 px):
a new template from a starter, archiving it (asked first, naming it) and restoring it."""

import pytest
from playwright.sync_api import expect
from test_confirmations import fits
from test_demo_flow import log_in, menu_click
from test_guards import Dialogs

pytestmark = pytest.mark.browser


#: Load every picture matching a selector (lazy ones too); their natural widths.
LOADED_WIDTHS = """selector => Promise.all([...document.querySelectorAll(selector)].map(
    img => { img.loading = "eager"; return img.decode().then(() => img.naturalWidth, () => 0); }
))"""


def from_starter(page, name, starter="Monthly newsletter"):
    """Create ``name`` from a starter through the gallery; return its id."""
    menu_click(page, "Templates")
    page.get_by_role("link", name="New template").first.click()
    expect(page.locator("h1")).to_have_text("New template")
    page.fill("#starter_name", name)
    page.get_by_role("button", name=f"Use “{starter}”").click()
    expect(page.locator("h1")).to_have_text(name)
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def test_create_from_a_starter(sized, served):
    page, width = sized
    log_in(page, served)
    menu_click(page, "Templates")
    page.get_by_role("link", name="New template").first.click()
    cards = page.locator(".starter-card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 8
    widths = page.evaluate(LOADED_WIDTHS, ".starter-card img")
    assert len(widths) == cards.count() and set(widths) == {300}
    assert fits(page, width)
    from_starter(page, f"Spring letter {width}", "Blank PDF")
    expect(page.locator("p.muted").first).to_contain_text("PDF")
    from_starter(page, f"Spring news {width}")
    expect(page.locator("#source")).to_contain_text("<mjml>")
    expect(page.locator(".flash-success")).to_contain_text("from the starter “Monthly newsletter”")


def test_archive_then_restore(sized, served):
    page, width = sized
    log_in(page, served)
    name = f"Old offer {width}"
    from_starter(page, name, "Plain announcement")
    menu_click(page, "Templates")
    page.fill("#q", name)
    page.get_by_role("button", name="Filter").click()

    dialogs = Dialogs(page)
    archive = page.get_by_role("button", name=f"Archive {name}")
    archive.click()
    page.wait_for_timeout(300)
    assert len(dialogs.seen) == 1 and f"Archive the template “{name}”" in dialogs.seen[0][1]
    expect(archive).to_be_visible()  # dismissed: nothing happened

    dialogs.answer = "accept"
    archive.click()
    expect(page.locator(".flash-success")).to_contain_text(f"Archived “{name}”")
    page.fill("#q", name)
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("button", name=f"Archive {name}")).to_have_count(0)

    page.select_option("#archived", "1")
    page.get_by_role("button", name="Filter").click()
    restore = page.get_by_role("button", name=f"Restore {name}")
    expect(restore).to_be_visible()
    assert fits(page, width)
    restore.click()
    expect(page.locator(".flash-success")).to_contain_text(f"Restored “{name}”")
    page.fill("#q", name)
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("button", name=f"Archive {name}")).to_be_visible()


def test_the_library_is_a_gallery_of_pictures_with_its_search_and_filters(sized, served):
    page, width = sized
    log_in(page, served)
    menu_click(page, "Templates")
    cards = page.locator(".library-card")
    expect(cards.first).to_be_visible()
    widths = page.evaluate(LOADED_WIDTHS, ".library-card img")
    assert len(widths) == cards.count() and set(widths) == {300}
    assert fits(page, width)
    page.select_option("#kind", "pdf")
    page.get_by_role("button", name="Filter").click()
    expect(cards.first).to_be_visible()
    assert all("PDF" in text for text in cards.locator(".gallery-meta").all_inner_texts())
    assert page.evaluate(LOADED_WIDTHS, ".library-card img") == [300] * cards.count()


def test_pick_a_contact_by_typing_part_of_its_name(sized, served):
    page, width = sized
    log_in(page, served)
    target = page.request.get(f"{served.url}/records/search/contact?q=").json()["results"][3]
    first, last = target["label"].split(" <")[0].split(" ", 1)
    page.get_by_role("link", name="Welcome", exact=True).click()
    field = page.locator("#send-contact-query")
    expect(field).to_have_attribute("role", "combobox")
    field.fill(last[:4])
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    expect(field).to_have_attribute("aria-expanded", "true")
    option = listbox.get_by_role("option", name=target["label"])
    expect(option).to_be_visible()
    assert fits(page, width)
    field.press("Escape")  # closes the list, keeps the text
    expect(listbox).to_be_hidden()
    expect(field).to_have_attribute("aria-expanded", "false")
    field.press("ArrowDown")  # opens it again, the first match active
    expect(listbox).to_be_visible()
    index = [o.inner_text().split("\n")[0] for o in listbox.get_by_role("option").all()].index(
        target["label"]
    )
    for _ in range(index):
        field.press("ArrowDown")
    expect(field).to_have_attribute("aria-activedescendant", f"send-contact-query-list-{index}")
    field.press("Enter")  # chooses; does not submit
    expect(field).to_have_value(target["label"])
    assert page.locator("#send-contact").input_value() == str(target["id"])
    expect(page.locator("h1")).not_to_contain_text("Send to")
    page.get_by_role("button", name="Send to contact…").click()
    expect(page.locator("#send-meaning")).to_contain_text(target["label"].split("<")[1][:-1])
    page.go_back()

    preview = page.locator("#preview-contact-query")  # the preview follows a choice too
    preview.fill(f"{first} {last}")
    page.get_by_role("listbox").get_by_role("option", name=target["label"]).click()
    expect(page.frame_locator("#preview").locator("body")).to_contain_text(first)
    assert page.locator("#test-send-contact").input_value() == str(target["id"])


def test_the_picker_works_without_script(browser, served):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{served.url}/login")
        page.fill("input[name=email]", "marketer@example.com")
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        target = page.request.get(f"{served.url}/records/search/contact?q=").json()["results"][2]
        page.get_by_role("link", name="Welcome", exact=True).click()
        page.fill("#send-contact-query", target["label"].split(" <")[0])
        page.get_by_role("button", name="Send to contact…").click()
        expect(page.locator("#send-meaning")).to_contain_text(target["label"].split("<")[1][:-1])
    finally:
        context.close()

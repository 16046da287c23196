"""Work is not lost and nothing irreversible happens unasked, in a real Chromium on a phone
(390 px) and a laptop (1366 px): leaving the code editor or the visual builder with unsaved
edits asks first (and not after saving, nor when nothing changed); removing a server and
making a new hook secret ask, naming what happens, and a dismissed question changes
nothing; a new workflow starts switched off; the DKIM page logs no console error; a
marketer refused a page is told why and whom to ask."""

import pytest
from playwright.sync_api import expect
from test_builder import PROOF_MJML, create_template, open_builder
from test_confirmations import fits
from test_demo_flow import log_in

pytestmark = pytest.mark.browser


class Dialogs:
    """Every dialog the page opens, answered with ``answer`` ("accept" or "dismiss")."""

    def __init__(self, page):
        self.seen = []
        self.answer = "dismiss"
        page.on("dialog", self._handle)

    def _handle(self, dialog):
        self.seen.append((dialog.type, dialog.message))
        getattr(dialog, self.answer)()

    def types(self):
        return [kind for kind, _ in self.seen]


def leave_by_script(page, dialogs):
    """Navigate away the way closing or reloading would: the browser's own prompt."""
    before = len(dialogs.seen)
    page.evaluate("setTimeout(() => { window.location.href = '/templates'; }, 0)")
    page.wait_for_timeout(500)
    return dialogs.types()[before:]


def test_the_code_editor_asks_before_unsaved_edits_are_lost(sized, served):
    page, width = sized
    log_in(page, served)
    template_id = create_template(page, served, f"Guarded code {width}", PROOF_MJML)
    dialogs = Dialogs(page)

    page.click("p.breadcrumb >> text=Templates")  # nothing changed: no question
    expect(page.locator("h1")).to_have_text("Templates")
    assert dialogs.seen == []

    page.goto(f"{served.url}/templates/{template_id}")
    editor = page.locator(".cm-content")
    editor.click()  # a person's click: browsers prompt only on pages the user touched
    editor.fill(page.locator("#source").input_value().replace("Hello there,", "Hello, edited"))
    page.click("p.breadcrumb >> text=Templates")
    assert dialogs.seen[-1][0] == "confirm" and "the template" in dialogs.seen[-1][1]
    expect(page.locator("#editor-form")).to_be_visible()  # dismissed: still here, edits too
    expect(editor).to_contain_text("Hello, edited")

    assert leave_by_script(page, dialogs) == ["beforeunload"]
    expect(page.locator("#editor-form")).to_be_visible()

    page.click("#editor-form button[type=submit]")  # saving asks nothing
    expect(page.locator("p.muted", has_text="Version 2")).to_be_visible()
    assert dialogs.types().count("beforeunload") == 1 and dialogs.types().count("confirm") == 1
    page.click("p.breadcrumb >> text=Templates")
    expect(page.locator("h1")).to_have_text("Templates")
    assert len(dialogs.seen) == 2


def test_the_visual_builder_asks_before_switching_to_code(sized, served):
    page, width = sized
    log_in(page, served)
    template_id = create_template(page, served, f"Guarded visual {width}", PROOF_MJML)
    open_builder(page, served, template_id)
    dialogs = Dialogs(page)

    page.click(".mode-tabs >> text=Code")  # opened, nothing changed: no question
    expect(page.locator("#editor-form")).to_be_visible()
    assert dialogs.seen == []

    open_builder(page, served, template_id)
    page.frame_locator(".gjs-frame").locator("text=Hello there,").dblclick()
    page.keyboard.press("End")
    page.keyboard.type(" and welcome")
    page.click(".mode-tabs >> text=Code")
    assert [kind for kind, _ in dialogs.seen] == ["confirm"]
    assert "the template" in dialogs.seen[0][1]
    expect(page.locator("#builder-save")).to_be_visible()  # dismissed: still in the builder
    assert leave_by_script(page, dialogs) == ["beforeunload"]

    page.click("#builder-save")
    expect(page.locator("#builder-status")).to_contain_text("Saved as version 2")
    page.click(".mode-tabs >> text=Code")
    expect(page.locator("#editor-form")).to_be_visible()
    assert len(dialogs.seen) == 2
    expect(page.locator(".cm-content")).to_contain_text("Hello there, and welcome")


def test_removing_a_server_asks_and_names_it(sized, served):
    page, width = sized
    log_in(page, served, "admin@example.com")
    name = f"Relay {width}"
    page.goto(f"{served.url}/settings/sending/servers/new")
    page.fill("#name", name)
    page.fill("#host", f"smtp{width}.example.com")
    page.click("main form button[type=submit]")
    row = page.locator("tr", has_text=name)
    expect(row).to_have_count(1)
    remove = row.get_by_role("button", name=f"Remove the server {name}")
    expect(remove).to_have_css("color", "rgb(180, 35, 24)")  # the danger red, not pale grey

    dialogs = Dialogs(page)
    remove.click()
    assert dialogs.seen[0][0] == "confirm"
    assert f"Remove the server {name} (smtp{width}.example.com)?" in dialogs.seen[0][1]
    page.reload()
    expect(page.locator("tr", has_text=name)).to_have_count(1)  # dismissed: still there
    assert fits(page, width)

    dialogs.answer = "accept"
    page.locator("tr", has_text=name).get_by_role("button", name="Remove").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Server “{name}” removed.")
    expect(page.locator("tr", has_text=name)).to_have_count(0)


def test_a_new_hook_secret_asks_first_and_copies_with_the_keyboard(sized, served):
    page, width = sized
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url)
    log_in(page, served, "admin@example.com")
    source = f"crm{width}"
    page.goto(f"{served.url}/settings/hooks")
    page.fill("#source-name", source)
    page.click("main form.form-inline button[type=submit]")
    first = page.locator("#new-secret").inner_text()

    page.locator("[data-copy-target=new-secret]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-copy-target=new-secret]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == first

    dialogs = Dialogs(page)
    row = page.locator("tr", has_text=source)
    row.get_by_role("button", name="New secret").click()
    assert dialogs.seen[0][0] == "confirm"
    assert dialogs.seen[0][1].startswith(f"Make a new secret for {source}?")
    expect(page.locator("#new-secret")).to_have_text(first)  # dismissed: nothing sent
    page.reload()
    expect(page.locator("tr", has_text=source).locator(".rotation")).to_have_count(0)

    dialogs.answer = "accept"
    page.locator("tr", has_text=source).get_by_role("button", name="New secret").click()
    expect(page.locator("#new-secret")).not_to_have_text(first)
    expect(page.locator("tr", has_text=source).locator(".rotation")).to_have_count(1)
    assert fits(page, width)


def test_a_new_workflow_is_switched_off(sized, served):
    page, width = sized
    log_in(page, served, "admin@example.com")
    page.goto(f"{served.url}/workflows/new?module=contact")
    expect(page.locator("#enabled")).not_to_be_checked()
    expect(page.locator("#enabled-help")).to_contain_text("starts switched off")
    assert fits(page, width)


def test_the_dkim_page_logs_no_console_error(sized, served):
    page, _ = sized
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, served, "admin@example.com")
    page.goto(f"{served.url}/settings/dkim")
    page.fill("#selector", "bad selector!")  # the pattern is compiled when it is checked
    assert page.evaluate("document.getElementById('selector').validity.patternMismatch")
    page.fill("#selector", "mail-2026")
    assert page.evaluate("document.getElementById('selector').checkValidity()")
    assert errors == []


def test_a_marketer_is_told_whom_to_ask(sized, served):
    page, width = sized
    log_in(page, served)
    page.goto(f"{served.url}/users")
    expect(page.locator("#forbidden-why")).to_contain_text("this role cannot open this page")
    expect(page.locator("#forbidden-why")).to_contain_text("ask an administrator")
    expect(page.locator("main")).not_to_contain_text("check what you entered")
    assert fits(page, width)


def kept_drafts(page):
    return page.evaluate(
        "Object.keys(localStorage).filter((key) => key.startsWith('designer:draft:')).sort()"
    )


def test_edits_never_saved_are_kept_in_the_browser_and_offered_again(sized, served):
    page, width = sized
    log_in(page, served)
    template_id = create_template(page, served, f"Drafted {width}", PROOF_MJML)
    assert kept_drafts(page) == []  # the new template's draft went with its creation
    dialogs = Dialogs(page)
    dialogs.answer = "accept"  # leave when the browser asks
    editor_url = f"{served.url}/templates/{template_id}"

    def edit(words, was="Hello, kept"):
        page.goto(editor_url)
        editor = page.locator(".cm-content")
        editor.click()
        editor.fill(page.locator("#source").input_value().replace(was, words))
        page.wait_for_timeout(1500)  # kept a second after the last change
        page.goto(f"{served.url}/templates")  # the tab closed, say
        page.goto(editor_url)
        return page.locator(".cm-content")

    editor = edit("Hello, kept", was="Hello there,")
    notice = page.locator(".draft-notice")
    expect(notice).to_contain_text("Changes to the template from today at")
    expect(notice).to_contain_text("were not saved; they are kept in this browser")
    expect(editor).not_to_contain_text("Hello, kept")  # offered, not forced
    assert fits(page, width)
    notice.get_by_role("button", name="Restore them").click()
    expect(editor).to_contain_text("Hello, kept")
    expect(notice).to_have_count(0)
    page.click("#editor-form button[type=submit]")  # saving asks nothing and drops it
    expect(page.locator("p.muted", has_text="Version 2")).to_be_visible()
    expect(page.locator(".draft-notice")).to_have_count(0)
    assert kept_drafts(page) == []

    editor = edit("Hello, thrown away")
    page.locator(".draft-notice").get_by_role("button", name="Discard them").click()
    expect(page.locator(".draft-notice")).to_have_count(0)
    expect(editor).not_to_contain_text("Hello, thrown away")
    page.reload()
    expect(page.locator(".draft-notice")).to_have_count(0)  # gone for good

    edit("Hello, on a shared computer")
    expect(page.locator(".draft-notice")).to_be_visible()
    assert kept_drafts(page) == [f"designer:draft:template-{template_id}"]
    page.locator("form[data-clears-drafts]").evaluate("(form) => form.requestSubmit()")  # log out
    expect(page.locator("h1")).to_have_text("Log in to Designer")
    assert kept_drafts(page) == []


def test_a_new_workflow_left_half_written_is_offered_again_and_dropped_once_created(page, served):
    log_in(page, served, "admin@example.com")
    Dialogs(page).answer = "accept"
    new = f"{served.url}/workflows/new?module=contact"
    page.goto(new)
    page.click("#name")
    page.fill("#name", "Welcome new contacts")
    page.check("#enabled")
    page.wait_for_timeout(1500)
    page.goto(f"{served.url}/workflows")
    page.goto(new)
    expect(page.locator("#name")).to_have_value("")
    page.locator(".draft-notice").get_by_role("button", name="Restore them").click()
    expect(page.locator("#name")).to_have_value("Welcome new contacts")
    expect(page.locator("#enabled")).to_be_checked()
    page.click("form.workflow-form button[type=submit]")
    page.goto(new)  # created (or refused and shown again): nothing left to offer
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".draft-notice")).to_have_count(0)
    assert kept_drafts(page) == []

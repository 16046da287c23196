"""The visual builder in a real Chromium: GrapesJS + grapesjs-mjml on the template's MJML.

Opening a template visually and saving it unchanged stores byte-identical
MJML (every starter template and hand-written edge cases), each block the
builder can edit compiles to equivalent HTML when written by the builder,
editing one block leaves every other byte alone, and a marketer can drag in a
button, set its label and link, insert a merge field, save and send it.
"""

import json
import re
from email import message_from_string, policy
from pathlib import Path

import pytest
from mjml_equivalence import EDGE_CASES, canonical_html
from playwright.sync_api import expect

from designer.templating.blocks import split_blocks
from designer.templating.compiler import compile_mjml

pytestmark = pytest.mark.browser

LIBRARY = Path(__file__).resolve().parents[2] / "templates_lib"
STARTER_NAMES = [entry["name"] for entry in json.loads((LIBRARY / "manifest.json").read_text())
                 if entry["kind"] == "email"]

PROOF_MJML = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text>Hello there,</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""


@pytest.fixture
def marketer(page, served):
    page.goto(f"{served.url}/login")
    page.fill("input[name=email]", "marketer@example.com")
    page.fill("input[name=password]", "demo")
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("Templates")
    return page


def template_ids(page, served):
    templates = page.request.get(f"{served.url}/api/templates").json()["templates"]
    return {t["name"]: t["id"] for t in templates}


def stored_source(page, served, template_id):
    return page.request.get(f"{served.url}/api/templates/{template_id}").json()["source"]


def create_template(page, served, name, source):
    page.goto(f"{served.url}/templates/new")
    page.fill("#name", name)
    page.fill("#subject", "For {{ contact.first_name }}")
    page.evaluate("(s) => { document.getElementById('source').value = s; }", source)
    page.click("main form button[type=submit]")
    expect(page.locator("h1")).to_have_text(name)
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def open_builder(page, served, template_id):
    page.goto(f"{served.url}/templates/{template_id}/visual")
    page.wait_for_selector("body.builder-ready", state="attached", timeout=30_000)


def save(page, version):
    page.click("#builder-save")
    expect(page.locator("#builder-status")).to_contain_text(f"Saved as version {version}")


def assert_builder_blocks_compile_equivalent(page, source):
    """Every editable block, written by the builder instead of its author, compiles the same."""
    blocks = split_blocks(source)
    expected = canonical_html(compile_mjml(source))
    rows = page.evaluate("window.DesignerBuilder.builderMjml()")
    assert {row["id"] for row in rows} == {b.id for b in blocks if b.editable}
    for row in rows:
        parts = [b.source for b in blocks]
        parts[row["id"]] = row["mjml"]
        assert canonical_html(compile_mjml("".join(parts))) == expected, row["mjml"]


def test_every_starter_template_saves_unchanged_byte_for_byte(marketer, served):
    page = marketer
    page.set_default_timeout(30_000)
    ids = template_ids(page, served)
    for name in STARTER_NAMES:
        template_id = ids[name]
        original = stored_source(page, served, template_id)
        version = page.request.get(f"{served.url}/templates/{template_id}/blocks").json()["version"]
        open_builder(page, served, template_id)
        assert_builder_blocks_compile_equivalent(page, original)
        save(page, version + 1)
        assert stored_source(page, served, template_id) == original, name


def test_edge_cases_keep_locked_code_and_untouched_blocks_byte_for_byte(marketer, served):
    page = marketer
    template_id = create_template(page, served, "Builder edge cases", EDGE_CASES)
    original = stored_source(page, served, template_id)
    open_builder(page, served, template_id)
    canvas = page.frame_locator(".gjs-frame")
    # Statements, comments, mj-raw and the sections the builder cannot hold show as code.
    expect(canvas.locator(".designer-locked")).to_have_count(11)
    expect(canvas.locator(".designer-locked", has_text="{% if contact.language")).to_be_visible()
    assert_builder_blocks_compile_equivalent(page, original)
    save(page, 2)
    assert stored_source(page, served, template_id) == original

    # Edit one block visually: everything outside it stays byte-identical.
    hallo = canvas.locator("text=Hallo").first
    hallo.dblclick()
    page.keyboard.press("End")
    page.keyboard.type(" en welkom")
    save(page, 3)
    edited = stored_source(page, served, template_id)
    block = next(b for b in split_blocks(original) if "Hallo" in b.source)
    before, after = original[:block.start], original[block.start + len(block.source):]
    assert edited.startswith(before) and edited.endswith(after)
    middle = edited[len(before):len(edited) - len(after)]
    assert "en welkom" in middle and 'mj-class="note"' in middle
    assert "{{ contact.first_name }}" in middle


def test_drag_a_button_insert_a_merge_field_save_and_send(marketer, served):
    page = marketer
    template_id = create_template(page, served, "Builder proof", PROOF_MJML)
    open_builder(page, served, template_id)
    canvas = page.frame_locator(".gjs-frame")

    # Drag the button block from the block manager below the existing section.
    page.click(".gjs-pn-btn:has-text('Blocks')")
    block = page.locator(".gjs-block", has_text="Button section").bounding_box()
    section = canvas.locator("[data-gjs-type='mj-section']").first.bounding_box()
    start = (block["x"] + 30, block["y"] + 30)
    end = (section["x"] + section["width"] / 2, section["y"] + section["height"] + 40)
    page.mouse.move(*start)
    page.mouse.down()
    for step in range(1, 16):
        page.mouse.move(start[0] + (end[0] - start[0]) * step / 15,
                        start[1] + (end[1] - start[1]) * step / 15)
        page.wait_for_timeout(30)
    page.wait_for_timeout(300)
    page.mouse.up()
    button = canvas.locator("[data-gjs-type='mj-button']")
    expect(button).to_have_count(1)

    # Its link from the settings panel, its label typed in place.
    button.click()
    page.click(".gjs-pn-btn:has-text('Settings')")
    link = page.locator(".gjs-trt-trait input").first
    link.fill("https://example.com/demo")
    link.press("Enter")
    # Only for contacts with an address: a condition on the button's section, from the settings.
    page.evaluate("() => { const ed = window.DesignerBuilder.editor; "
                  "ed.select(ed.getSelected().parent().parent()); }")
    condition = page.locator(".gjs-trt-trait", has_text="Show only when").locator("input")
    condition.fill("contact.email")
    condition.press("Enter")
    button.dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type("Book a demo")

    # The contact's first name into the text, from the field catalogue, shown as a chip.
    canvas.locator("text=Hello there,").dblclick()
    page.keyboard.press("End")
    page.keyboard.type(" ")
    page.click("#builder-fields summary")
    page.fill("#builder-field-search", "first name")
    page.click("#builder-field-list .field-option[data-field='contact.first_name']")
    expect(canvas.locator(".designer-field")).to_have_text("Contact: first name")
    save(page, 2)

    source = stored_source(page, served, template_id)
    assert '<mj-button href="https://example.com/demo">Book a demo</mj-button>' in source
    assert ("    {% if contact.email %}\n    <mj-section>\n      <mj-column>\n        <mj-button"
            in source)
    assert "</mj-section>\n    {% endif %}\n  </mj-body>" in source
    assert "<mj-text>Hello there,&nbsp;{{ contact.first_name }}</mj-text>" in source
    assert "designer-field" not in source and "data-gjs" not in source

    # Version 2 renders: the code editor shows it, the preview merges the name.
    page.click("a:has-text('Code')")
    expect(page.locator(".page-header")).to_contain_text("Version 2")
    chosen = page.locator("#preview-contact option:checked").inner_text()
    preview = page.frame_locator("#preview")
    expect(preview.locator("body")).to_contain_text(
        re.compile(rf"Hello\s+there,\s+{re.escape(chosen.split()[0])}"))
    expect(preview.locator("a", has_text="Book a demo")).to_be_visible()

    # Sent: the button's link is tracked and the name merged.
    option = page.locator("#send-contact option").first
    email = re.search(r"<([^>]+)>", option.inner_text()).group(1)
    first_name = option.inner_text().split()[0]
    page.click("text=Send to contact")
    expect(page.locator(".flash-success")).to_contain_text("Queued message")
    page.click("nav >> text=Outbox")
    row = page.locator("tr", has_text=email).filter(has_text=f"For {first_name}").first
    for _ in range(40):
        if row.count():
            break
        page.wait_for_timeout(250)
        page.reload()
    row.locator("a").first.click()
    raw = page.locator("pre.code-raw").inner_text()
    html = message_from_string(raw, policy=policy.default).get_body(("html",)).get_content()
    assert re.search(rf"Hello\s+there,(&nbsp;|\s)+{re.escape(first_name)}", html)
    tracked = re.search(r'<a\b[^>]*\bhref="([^"]+)"[^>]*>\s*Book a demo', html)
    assert tracked and "/c/" in tracked.group(1)

"""The visual builder in a real Chromium: GrapesJS + grapesjs-mjml on the template's MJML.

Opening a template visually and saving it unchanged stores byte-identical
MJML (every starter template and hand-written edge cases), each block the
builder can edit compiles to equivalent HTML when written by the builder,
editing one block leaves every other byte alone, content blocks dropped on a
column land in that column, and a marketer can drag a button into a column,
set its label and link, insert a merge field, save and send it. Conditions and
loops set on a section are that section's settings again when reopened, images
uploaded in the asset manager are stored and offered in every template, and
sections saved as blocks drop into other templates.
"""

import json
import re
from email import message_from_string, policy
from pathlib import Path

import pytest
from mjml_equivalence import EDGE_CASES, canonical_html
from playwright.sync_api import expect

from designer.templating.blocks import fold_statements, split_blocks
from designer.templating.compiler import compile_mjml

pytestmark = pytest.mark.browser

LIBRARY = Path(__file__).resolve().parents[2] / "templates_lib"
STARTER_NAMES = [
    entry["name"]
    for entry in json.loads((LIBRARY / "manifest.json").read_text())
    if entry["kind"] == "email"
]

#: A 1x1 PNG.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
    b"\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
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
    templates = page.request.get(f"{served.url}/api/v1/templates").json()["templates"]
    return {t["name"]: t["id"] for t in templates}


def stored_source(page, served, template_id):
    return page.request.get(f"{served.url}/api/v1/templates/{template_id}").json()["source"]


def create_template(page, served, name, source):
    page.goto(f"{served.url}/templates/new")
    page.fill("#name", name)
    page.fill("#subject", "For {{ contact.first_name }}")
    page.evaluate("(s) => { document.getElementById('source').value = s; }", source)
    page.click("#new-template-form button[type=submit]")
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
    blocks = fold_statements(split_blocks(source))
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
        version = page.request.get(f"{served.url}/api/v1/templates/{template_id}").json()["version"]
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
    expect(canvas.locator(".designer-locked")).to_have_count(9)  # the loop is the section's
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
    before, after = original[: block.start], original[block.start + len(block.source) :]
    assert edited.startswith(before) and edited.endswith(after)
    middle = edited[len(before) : len(edited) - len(after)]
    assert "en welkom" in middle and 'mj-class="note"' in middle
    assert "{{ contact.first_name }}" in middle

    # The loop around a section shows in its settings; changing it rewrites that block only.
    page.evaluate(
        "() => { const ed = window.DesignerBuilder.editor; ed.select(ed.getWrapper()"
        ".findType('mj-section').find((c) => c.get('designerLoop')));}"
    )
    page.click(".gjs-pn-btn:has-text('Settings')")
    loop = page.locator(".gjs-trt-trait", has_text="Repeat for each").locator("input")
    expect(loop).to_have_value("line in invoice.lines")
    condition = page.locator(".gjs-trt-trait", has_text="Show only when").locator("input")
    expect(condition).to_have_value("")
    loop.fill("line in invoice.items")
    loop.press("Enter")
    save(page, 4)
    start = edited.index("{% for line in invoice.lines %}")
    end = edited.index("{% endfor %}", start) + len("{% endfor %}")
    changed = stored_source(page, served, template_id)
    assert changed.startswith(edited[:start]) and changed.endswith(edited[end:])
    middle = changed[start : len(changed) - len(edited) + end]
    assert middle.startswith("{% for line in invoice.items %}\n    <mj-section>")
    assert middle.endswith("</mj-section>\n    {% endfor %}") and "{{ line.name }}" in middle


def drag_block(page, label, target, at=(0.5, 0.5)):
    """Drag the block called ``label`` and release it over ``target`` (a canvas locator), at
    ``at`` (fractions of its width and height)."""
    page.locator("#gjs").scroll_into_view_if_needed()
    name = re.compile(rf"^\s*{re.escape(label)}\s*$")
    block = page.locator(".gjs-block").filter(has=page.locator(".gjs-block-label", has_text=name))
    block.scroll_into_view_if_needed()
    target.scroll_into_view_if_needed()
    box, goal = block.bounding_box(), target.bounding_box()
    start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    end = (goal["x"] + goal["width"] * at[0], goal["y"] + goal["height"] * at[1])
    page.mouse.move(*start)
    page.mouse.down()
    for step in range(1, 13):
        page.mouse.move(
            start[0] + (end[0] - start[0]) * step / 12, start[1] + (end[1] - start[1]) * step / 12
        )
        page.wait_for_timeout(25)
    page.mouse.up()


def parents_of(page, component_type):
    """The type of each ``component_type`` component's parent, in document order."""
    return page.evaluate(
        "(type) => window.DesignerBuilder.editor.getWrapper().findType(type)"
        ".map((c) => c.parent().get('type'))",
        component_type,
    )


def test_content_blocks_drop_into_the_columns_of_a_starter_template(marketer, served):
    page = marketer
    open_builder(page, served, template_ids(page, served)["Welcome"])
    canvas = page.frame_locator(".gjs-frame")
    page.click(".gjs-pn-btn:has-text('Blocks')")
    columns = canvas.locator("[data-gjs-type='mj-column']")
    blocks = [
        ("Text", "mj-text"),
        ("Button", "mj-button"),
        ("Image", "mj-image"),
        ("Divider", "mj-divider"),
        ("Spacer", "mj-spacer"),
        ("Group Social", "mj-social"),
    ]
    for number, (label, component_type) in enumerate(blocks):
        before = parents_of(page, component_type).count("mj-column")
        column = columns.nth(3 + number % 3)  # the three 33% columns
        drag_block(page, label, column, at=(0.5, 0.15))
        if component_type == "mj-image":  # the image block opens the image picker
            page.click(".gjs-mdl-btn-close")
        assert parents_of(page, component_type).count("mj-column") == before + 1, label
    assert "mj-body" not in parents_of(page, "mj-button")


def test_drag_a_button_into_a_column_insert_a_merge_field_save_and_send(marketer, served):
    page = marketer
    template_id = create_template(page, served, "Builder proof", PROOF_MJML)
    open_builder(page, served, template_id)
    canvas = page.frame_locator(".gjs-frame")

    # Drag the bare button block into the template's column, below its text.
    page.click(".gjs-pn-btn:has-text('Blocks')")
    drag_block(page, "Button", canvas.locator("[data-gjs-type='mj-text']").first, at=(0.5, 0.8))
    button = canvas.locator("[data-gjs-type='mj-button']")
    expect(button).to_have_count(1)
    assert parents_of(page, "mj-button") == ["mj-column"]

    # Its link from the settings panel, its label typed in place.
    button.click()
    page.click(".gjs-pn-btn:has-text('Settings')")
    link = page.locator(".gjs-trt-trait input").first
    link.fill("https://example.com/demo")
    link.press("Enter")
    # Only for contacts with an address: a condition on the section, from the settings.
    page.evaluate(
        "() => { const ed = window.DesignerBuilder.editor; "
        "ed.select(ed.getSelected().parent().parent()); }"
    )
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
    assert source.count("<mj-section>") == 1 and source.count("<mj-column>") == 1
    assert (
        "    {% if contact.email %}\n    <mj-section>\n      <mj-column>\n"
        "        <mj-text>Hello there,&nbsp;{{ contact.first_name }}</mj-text>\n"
        '        <mj-button href="https://example.com/demo">Book a demo</mj-button>\n'
        "      </mj-column>\n    </mj-section>\n    {% endif %}\n  </mj-body>"
    ) in source
    assert "designer-field" not in source and "data-gjs" not in source

    # Reopened, the condition is the section's setting again; unchanged, it saves every byte.
    open_builder(page, served, template_id)
    expect(canvas.locator(".designer-locked")).to_have_count(0)
    canvas.locator("text=Hello there,").click()
    page.evaluate(
        "() => { const ed = window.DesignerBuilder.editor; "
        "ed.select(ed.getSelected().parent().parent()); }"
    )
    page.click(".gjs-pn-btn:has-text('Settings')")
    expect(
        page.locator(".gjs-trt-trait", has_text="Show only when").locator("input")
    ).to_have_value("contact.email")
    save(page, 3)
    assert stored_source(page, served, template_id) == source

    # The saved version renders: the code editor shows it, the preview merges the name.
    page.click("a:has-text('Code')")
    expect(page.locator(".page-header")).to_contain_text("Version 3")
    chosen = page.locator("#preview-contact-query").input_value()
    preview = page.frame_locator("#preview")
    expect(preview.locator("body")).to_contain_text(
        re.compile(rf"Hello\s+there,\s+{re.escape(chosen.split()[0])}")
    )
    expect(preview.locator("a", has_text="Book a demo")).to_be_visible()

    # Sent: the button's link is tracked and the name merged.
    chosen = page.locator("#send-contact-query").input_value()
    email = re.search(r"<([^>]+)>", chosen).group(1)
    first_name = chosen.split()[0]
    page.click("text=Send to contact")
    page.click(f"button:has-text('Send to {email}')")
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


def test_an_image_uploaded_in_the_asset_manager_is_stored_and_offered(marketer, served, tmp_path):
    page = marketer
    open_builder(page, served, create_template(page, served, "Builder image", PROOF_MJML))
    page.evaluate("() => window.DesignerBuilder.editor.AssetManager.open()")
    image = tmp_path / "pixel-upload.png"
    image.write_bytes(PNG)
    page.set_input_files("input[type=file][data-input]", str(image))
    page.wait_for_function(
        "() => window.DesignerBuilder.editor.AssetManager.getAll()"
        ".some((a) => a.get('src').endsWith('/pixel-upload.png'))"
    )
    stored = page.request.get(f"{served.url}/api/v1/images?per_page=100").json()["images"]
    (uploaded,) = [i for i in stored if i["name"] == "pixel-upload.png"]
    assert uploaded["src"] == f"{served.url}/assets/{uploaded['id']}/pixel-upload.png"
    open_builder(page, served, create_template(page, served, "Builder image 2", PROOF_MJML))
    page.wait_for_function(
        "() => window.DesignerBuilder.editor.AssetManager.getAll()"
        ".some((a) => a.get('src').endsWith('/pixel-upload.png'))"
    )


def test_a_section_saved_as_a_block_drops_into_another_template(marketer, served):
    page = marketer
    banner = PROOF_MJML.replace("Hello there,", "Visit the {{ company.name }} shop")
    open_builder(page, served, create_template(page, served, "Block source", banner))
    canvas = page.frame_locator(".gjs-frame")
    canvas.locator("text=Visit the").click()
    page.click("#builder-save-block")
    page.fill("#builder-block-name", "Shop <banner>")  # a name, never HTML
    page.click("#builder-block-form button[type=submit]")
    expect(page.locator("#builder-status")).to_contain_text("Saved the section as the block")

    template_id = create_template(page, served, "Block target", PROOF_MJML)
    open_builder(page, served, template_id)
    page.click(".gjs-pn-btn:has-text('Blocks')")
    expect(page.locator(".gjs-block-category", has_text="Saved blocks")).to_be_visible()
    drag_block(
        page, "Shop <banner>", canvas.locator("[data-gjs-type='mj-section']").first, at=(0.5, 1.5)
    )
    expect(canvas.locator("[data-gjs-type='mj-section']")).to_have_count(2)
    expect(canvas.locator(".designer-field")).to_have_text("Company: name")
    save(page, 2)
    source = stored_source(page, served, template_id)
    hello, shop = source.index("Hello there,"), source.index("Visit the {{ company.name }} shop")
    assert hello < shop and source.count("<mj-section>") == 2

    # Its delete button removes it, for every template.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".gjs-block", has_text="Shop <banner>").locator(".designer-block-delete").click()
    expect(page.locator(".gjs-block", has_text="Shop <banner>")).to_have_count(0)
    assert page.request.get(f"{served.url}/api/v1/blocks").json()["blocks"] == []


def test_a_view_in_browser_link_drops_in_and_the_picker_offers_its_field(marketer, served):
    page = marketer
    template_id = create_template(page, served, "Builder web view", PROOF_MJML)
    open_builder(page, served, template_id)
    canvas = page.frame_locator(".gjs-frame")
    page.click(".gjs-pn-btn:has-text('Blocks')")
    drag_block(
        page, "View in browser", canvas.locator("[data-gjs-type='mj-text']").first, at=(0.5, 0.2)
    )
    expect(canvas.locator("a", has_text="View this e-mail in your browser")).to_have_count(1)
    page.click("#builder-fields summary")
    page.fill("#builder-field-search", "browser")
    expect(
        page.locator("#builder-field-list .field-option[data-field='webview_url']")
    ).to_be_visible()
    save(page, 2)
    source = stored_source(page, served, template_id)
    assert '<a href="{{ webview_url }}">View this e-mail in your browser</a>' in source
    assert source.index("webview_url") < source.index("Hello there,")


def test_every_block_tile_has_a_picture_and_each_control_is_there_once(marketer, served):
    page = marketer
    open_builder(page, served, template_ids(page, served)["Welcome"])
    page.click(".gjs-pn-btn:has-text('Blocks')")
    tiles = page.evaluate(
        """() => [...document.querySelectorAll('.gjs-block')].map((tile) => ({
            label: tile.querySelector('.gjs-block-label').textContent.trim(),
            picture: tile.querySelector('.gjs-block__media svg, .gjs-block__media img') !== null,
        }))"""
    )
    labels = [tile["label"] for tile in tiles]
    assert {"Section", "Button section", "4 Columns", "View in browser", "Button"} <= set(labels)
    assert [tile["label"] for tile in tiles if not tile["picture"]] == []
    controls = page.evaluate(
        """() => [...document.querySelectorAll('button, .gjs-pn-btn')]
            .filter((el) => el.offsetParent !== null && !el.closest('.builder-preview-card'))
            .map((el) => el.getAttribute('title') || el.textContent.trim())"""
    )
    for name in ("Undo", "Redo", "Desktop", "Mobile", "Tablet"):
        assert controls.count(name) == (0 if name == "Tablet" else 1), (name, controls)
    assert "Hide panels" in controls, "|".join(
        controls
    )  # the canvas without panels, not a second "Preview"


def test_the_merge_field_list_closes_like_a_menu(marketer, served):
    page = marketer
    open_builder(page, served, template_ids(page, served)["Welcome"])
    picker = page.locator("#builder-fields")
    canvas = page.frame_locator(".gjs-frame")

    def opened():
        page.click("#builder-fields summary")
        expect(page.locator("#builder-field-search")).to_be_visible()

    opened()
    page.keyboard.press("Escape")  # focus is in the search box
    expect(picker).not_to_have_attribute("open", "")
    expect(page.locator("#builder-fields summary")).to_be_focused()
    opened()
    canvas.locator("text=To help you get started").click()  # into the canvas
    expect(picker).not_to_have_attribute("open", "")
    opened()
    page.click("h1")  # anywhere else on the page
    expect(picker).not_to_have_attribute("open", "")
    canvas.locator("text=To help you get started").dblclick()
    opened()
    page.fill("#builder-field-search", "first name")
    page.click("#builder-field-list .field-option[data-field='contact.first_name']")
    expect(page.locator("#builder-status")).to_contain_text("Inserted")
    expect(picker).not_to_have_attribute("open", "")  # a field picked: the list is done

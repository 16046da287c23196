"""The visual builder's canvas shows what is sent: a button and a divider dropped on the
canvas take the template's own styles (mj-attributes, mj-class in mj-head), with the
same computed colours and widths as the saved template's preview, in a real Chromium."""

import time

import pytest
from playwright.sync_api import Error, expect
from test_builder import create_template, drag_block, open_builder, save
from test_builder import marketer as marketer  # the fixture

pytestmark = pytest.mark.browser

STYLED_MJML = """<mjml>
  <mj-head>
    <mj-attributes>
      <mj-button background-color="#1e7d32" color="#fefefe" border-radius="12px" />
      <mj-divider border-color="#cccccc" border-width="1px" />
      <mj-class name="lead" color="#8a1c7c" font-size="19px" />
    </mj-attributes>
  </mj-head>
  <mj-body>
    <mj-section>
      <mj-column>
        <mj-text mj-class="lead">Hello there,</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""

#: The computed styles compared: the button's cell and link, the divider's line, the text.
STYLES = """(root) => {
  const style = (el, names) => el ? names.map((n) => getComputedStyle(el)[n]) : null;
  const button = root.querySelector('td[bgcolor], td[style*="background"]');
  const link = button && button.querySelector('a, p');
  const line = root.querySelector('p[style*="border-top"]');
  const text = [...root.querySelectorAll('div')]
    .find((d) => d.textContent.trim() === 'Hello there,');
  return {
    button: style(button, ['backgroundColor', 'borderTopLeftRadius']),
    label: style(link, ['color']),
    divider: style(line, ['borderTopColor', 'borderTopWidth']),
    text: style(text, ['color', 'fontSize']),
  };
}"""


def test_a_dropped_button_and_divider_look_on_the_canvas_as_in_the_preview(marketer, served):
    page = marketer
    template_id = create_template(page, served, "Styled canvas", STYLED_MJML)
    open_builder(page, served, template_id)
    canvas = page.frame_locator(".gjs-frame")
    page.click(".gjs-pn-btn:has-text('Blocks')")
    text = canvas.locator("[data-gjs-type='mj-text']").first
    drag_block(page, "Button", text, at=(0.5, 0.8))
    drag_block(page, "Divider", text, at=(0.5, 0.8))
    expect(canvas.locator("[data-gjs-type='mj-button']")).to_have_count(1)
    expect(canvas.locator("[data-gjs-type='mj-divider']")).to_have_count(1)
    on_canvas = canvas.locator("[data-gjs-type='mj-column']").first.evaluate(STYLES)
    save(page, 2)

    page.click("a:has-text('Code')")
    expect(page.locator(".page-header")).to_contain_text("Version 2")
    in_preview = preview_styles(page)

    assert on_canvas["button"] == ["rgb(30, 125, 50)", "12px"], on_canvas
    assert on_canvas["divider"] == ["rgb(204, 204, 204)", "1px"], on_canvas
    assert on_canvas["text"] == ["rgb(138, 28, 124)", "19px"], on_canvas
    assert on_canvas == in_preview


def preview_styles(page):
    """The styles in the editor's preview once its live refresh has replaced the first page
    (``srcdoc`` set): a refresh landing during the read reloads the frame, so read again."""
    expect(page.locator("#preview[srcdoc]")).to_have_count(1)
    expect(page.locator("[data-preview-url]:not(.is-loading)")).to_have_count(1)
    body = page.frame_locator("#preview").locator("body")
    for _ in range(10):
        expect(body).to_contain_text("Hello there,")
        try:
            return body.evaluate(STYLES)
        except Error as exc:
            if "Execution context was destroyed" not in str(exc):
                raise
            time.sleep(0.2)
    raise AssertionError("the preview kept reloading")

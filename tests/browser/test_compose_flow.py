"""Send e-mail from an invoice, as a sales user does, in a real Chromium against
``designer serve``: pick the invoice reminder, see it merged, attach the invoice PDF and a
file, Cc a colleague and Bcc someone, confirm, and find the message in the Outbox with both
attachments, the Cc, and the Bcc in the envelope only."""

from email import message_from_string, policy

import pytest
from playwright.sync_api import expect
from test_demo_flow import log_in

pytestmark = pytest.mark.browser

COLLEAGUE = "liam.walsh@example.com"
HIDDEN = "audit.compose@example.com"


def open_an_invoice(page, served):
    """The page of the first invoice found through the organisations."""
    page.goto(f"{served.url}/organisations")
    links = [a.get_attribute("href") for a in page.locator("table a").all()]
    for href in links:
        page.goto(f"{served.url}{href}")
        invoices = page.locator("tr", has=page.locator("td", has_text="Invoice")).locator("a")
        if invoices.count():
            invoices.first.click()
            expect(page.locator("h1")).to_contain_text("Invoice")
            return page.locator("h1").inner_text().split()[-1]
    raise AssertionError("the demo data has no invoice")


def no_sideways_scrolling(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_timeout(100)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_send_an_invoice_with_pdf_file_and_cc(page, served, tmp_path):
    log_in(page, served)
    number = open_an_invoice(page, served)
    page.click("text=Send e-mail")
    expect(page.locator("h1")).to_have_text("Send e-mail")
    reminder = page.locator("#template_id option", has_text="Invoice reminder").first
    page.select_option("#template_id", reminder.get_attribute("value"))
    page.click("#use-template")
    expect(page.locator("#subject")).not_to_have_value("")
    preview = page.frame_locator("iframe[name=compose-preview]")
    expect(preview.locator("body")).to_contain_text(number)

    page.check("label:has-text('Invoice (PDF)') input")
    terms = tmp_path / "terms-and-conditions.txt"
    terms.write_text("Payment within 30 days.\n")
    page.set_input_files("#files", str(terms))
    page.fill("#cc", COLLEAGUE)
    page.fill("#bcc", HIDDEN)
    for width in (390, 1366):
        no_sideways_scrolling(page, width)

    page.click("#review")
    expect(page.locator("#confirm-heading")).to_have_text("3 people will get this e-mail")
    expect(page.locator("#confirm-cc")).to_contain_text(COLLEAGUE)
    expect(page.locator("#confirm-bcc")).to_contain_text(HIDDEN)
    expect(page.locator("#confirm-attachments")).to_contain_text("Invoice (PDF)")
    expect(page.locator("#confirm-attachments")).to_contain_text("terms-and-conditions.txt")
    expect(page.locator("#confirm-subject")).to_contain_text(number)  # merged
    expect(page.locator("#confirm-subject")).not_to_contain_text("edited")
    page.click("#confirm-send")
    expect(page.locator(".flash-success")).to_contain_text("queued for 3 people")
    details = page.locator("table.details")
    expect(details).to_contain_text(COLLEAGUE)
    expect(details).to_contain_text(HIDDEN)
    expect(details).to_contain_text("terms-and-conditions.txt")
    expect(details).not_to_contain_text("own subject")  # the template's version as it is

    page.click("nav >> text=Outbox")
    row = page.locator("tr", has_text=HIDDEN)  # the envelope names every recipient
    for _ in range(120):  # until the worker has delivered it
        if row.count():
            break
        page.wait_for_timeout(250)
        page.reload()
    row.first.locator("a").first.click()
    raw = page.locator("pre.code-raw").inner_text()
    received = message_from_string(raw, policy=policy.default)
    assert [a.addr_spec for a in received["Cc"].addresses] == [COLLEAGUE]
    assert received["Bcc"] is None and HIDDEN not in raw
    names = [part.get_filename() for part in received.iter_attachments()]
    assert len(names) == 2 and names[0].startswith("Invoice-") and names[0].endswith(".pdf")
    assert names[1] == "terms-and-conditions.txt"
    assert number in received.get_body(("html",)).get_content()
    details = page.locator("table.details")
    expect(details).to_contain_text(HIDDEN)  # To: the envelope's recipients, Bcc included
    expect(details).to_contain_text(COLLEAGUE)  # Cc, as the recipients see it
    expect(details).to_contain_text("terms-and-conditions.txt")


def test_a_mistake_keeps_what_was_typed(page, served):
    log_in(page, served)
    open_an_invoice(page, served)
    page.click("text=Send e-mail")
    page.fill("#cc", "not-an-address")
    page.fill("#more_to", "office@example.com")
    page.click("#review")
    expect(page.locator("#compose-errors")).to_contain_text("Choose a template")
    expect(page.locator("#compose-errors")).to_contain_text("“not-an-address” is not")
    expect(page.locator("#more_to")).to_have_value("office@example.com")
    expect(page.locator("#cc")).to_have_value("not-an-address")

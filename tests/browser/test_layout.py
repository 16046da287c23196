"""Every signed-in page fits the screen from 360 px to 1366 px, with one menu line.

The pages come from the URL map and the pages' own links (``site_map.py``), as the
demo admin and marketer see them. At each width the page may not be wider than the
window; at 1366 px the main menu is on one line; on every page exactly one menu
item is the current page (a settings page: its sub-navigation item, with "Settings"
marked as the current section in the main menu).
"""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WIDTHS = (1366, 390, 360)

#: Detail pages the demo data must reach, so a broken link cannot shrink the list unseen.
EXPECTED = {
    "admin": {
        "templating.editor",
        "templating.versions",
        "builder.page",
        "campaigns.page",
        "campaigns.report",
        "records.organisation",
        "records.contact",
        "mail.message_page",
        "mail.outbox_item",
        "dkim.index",
        "settings.company",
        "sending.server_form",
        "users.list_page",
        "crm.page",
        "webhooks.list_page",
    },
    "marketer": {
        "templating.editor",
        "builder.page",
        "campaigns.report",
        "records.contact",
        "mail.outbox",
    },
}

MEASURE = """() => {
  const wide = [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
    .filter((el) => !el.parentElement.closest('.table-wrap, .scroll-x, pre'))
    .filter((el) => el.parentElement.getBoundingClientRect().right <= window.innerWidth + 0.5)
    .slice(0, 5)
    .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
         + (typeof el.className === 'string' && el.className
            ? '.' + el.className.trim().replace(/\\s+/g, '.') : ''));
  const items = [...document.querySelectorAll('.mainnav li')];
  return {
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
    wide,
    lines: new Set(items.map((li) => Math.round(li.getBoundingClientRect().top))).size,
    pageCurrent: document.querySelectorAll(
      '.topbar [aria-current="page"], .subnav [aria-current="page"]').length,
    barCurrent: document.querySelectorAll('.topbar [aria-current]').length,
  };
}"""


def check_page(page, url):
    """What is wrong with ``url`` at each width (empty when nothing is)."""
    problems = []
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    page.goto(url, wait_until="load")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        m = page.evaluate(MEASURE)
        if m["scroll"] > m["inner"]:
            problems.append(f"{width} px: {m['scroll']} px wide ({', '.join(m['wide'])})")
        if width == 1366 and m["lines"] != 1:
            problems.append(f"1366 px: the main menu takes {m['lines']} lines")
    if m["pageCurrent"] != 1 or m["barCurrent"] != 1:
        problems.append(
            f"{m['pageCurrent']} menu items are the current page, "
            f"{m['barCurrent']} highlighted in the top bar"
        )
    return problems


@pytest.mark.parametrize("role", ["admin", "marketer"])
def test_every_page_fits_from_360_px_with_one_current_menu_item(
    signed_in, site_pages, served, role
):
    pages = site_pages(role)
    assert EXPECTED[role] <= {endpoint for endpoint, _ in pages}
    page = signed_in(role).new_page()
    failures = {}
    for endpoint, path in pages:
        problems = check_page(page, served.url + path)
        if problems:
            failures[f"{endpoint} {path}"] = problems
    page.close()
    assert not failures, "\n".join(f"{where}: {'; '.join(p)}" for where, p in failures.items())


def test_marketers_meet_no_settings_and_admins_one_settings_entry(signed_in, served):
    admin = signed_in("admin").new_page()
    admin.goto(f"{served.url}/users")
    expect(admin.locator(".mainnav a[aria-current='true']")).to_have_text("Settings")
    expect(admin.locator(".subnav a[aria-current='page']")).to_have_text("Users")
    expect(admin.locator(".subnav a")).to_contain_text(["Company", "Sending", "DKIM", "Users"])
    admin.close()
    marketer = signed_in("marketer").new_page()
    marketer.goto(f"{served.url}/templates")
    expect(marketer.locator(".mainnav a")).not_to_contain_text(["Settings"])
    marketer.close()


@pytest.mark.parametrize("width", [360, 390])
def test_the_menu_button_opens_the_navigation_by_keyboard(signed_in, served, width):
    page = signed_in("marketer").new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{served.url}/templates")
    button = page.get_by_role("button", name="Menu")
    outbox = page.locator(".mainnav").get_by_role("link", name="Outbox")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(outbox).to_be_hidden()
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(outbox).to_be_visible()
    expect(page.get_by_role("link", name="API tokens")).to_be_visible()
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    page.keyboard.press("Space")
    outbox.click()
    expect(page.locator("h1")).to_contain_text("Outbox")
    page.close()


def test_the_user_menu_opens_and_closes_on_a_wide_screen(signed_in, served):
    page = signed_in("marketer").new_page()
    page.goto(f"{served.url}/templates")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    user = page.locator(".user-toggle")
    tokens = page.get_by_role("link", name="API tokens")
    expect(tokens).to_be_hidden()
    user.click()
    expect(user).to_have_attribute("aria-expanded", "true")
    tokens.click()
    expect(page.locator(".usernav a[aria-current='page']")).to_have_text("API tokens")
    page.close()

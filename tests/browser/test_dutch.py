"""The Dutch interface in a real Chromium.

A browser that asks for Dutch gets every signed-in page in Dutch: the pages
``site_map.py`` finds are read as the admin sees them, and any text, title, label
or confirmation that is still English fails the test, naming page and text. What
the data holds (names, subjects, addresses) is left out of the check: the demo data
is English. A marketer then works in Dutch on a phone and a laptop: logs in, creates
a template from a starter, switches the interface to German and back.
"""

import re
import sqlite3
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import expect
from test_confirmations import fits
from test_demo_flow import menu_click

pytestmark = pytest.mark.browser

CATALOGUES = Path(__file__).resolve().parents[2] / "designer" / "translations"
DUTCH = {"Accept-Language": "nl-NL,nl;q=0.9"}
#: English words that Dutch and German do not use: two of them in one text is English.
ENGLISH = frozenset(
    "the and your you with this that when which have has are from there their they been "
    "into only here what where who not can each other for or be by it as should would "
    "could must these those than then about after before while".split()
)
#: Elements whose text is code or data, not the interface's words.
SKIPPED = frozenset(
    {"script", "style", "code", "pre", "textarea", "template", "svg", "kbd", "samp"}
)
#: Attributes people read (tooltips, labels for screen readers, hints, confirmations).
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "data-confirm")


@cache
def catalogue(language="nl"):
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id}


def nl(english):
    """The Dutch of an English interface string, as the catalogue has it."""
    translated = catalogue()[english]
    assert translated, f"no Dutch for {english!r}"
    return translated


class VisibleText(HTMLParser):
    """The texts a person reads on a page: text nodes and the read attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts, self.skipping = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in SKIPPED or attrs.get("translate") == "no":
            if tag not in ("input", "img", "br", "meta", "link"):
                self.skipping.append(tag)
            return
        if not self.skipping:
            self.texts += [attrs[a] for a in READ_ATTRIBUTES if attrs.get(a)]

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.texts.append(" ".join(data.split()))


def english_words(text):
    return ENGLISH.intersection(re.findall(r"[a-z']+", text.lower()))


def still_english(html, data):
    """The page's texts that read as English once the data in them is taken out."""
    parser = VisibleText()
    parser.feed(html)
    found = []
    for text in parser.texts:
        if len(english_words(text)) < 2:
            continue
        rest = text
        for value in data:
            if value in rest:
                rest = rest.replace(value, " ")
        if len(english_words(rest)) >= 2:
            found.append(text)
    return found


def data_values(served):
    """Every text value in the served product's database, longest first."""
    values = set()
    with sqlite3.connect(served.instance / "designer.db") as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from the schema
                values.update(v for v in row if isinstance(v, str) and 3 <= len(v) <= 2000)
    return sorted(values, key=len, reverse=True)


def dutch_context(browser, width=1366):
    return browser.new_context(
        viewport={"width": width, "height": 900}, locale="nl-NL", extra_http_headers=DUTCH
    )


def log_in(page, served, email):
    page.goto(f"{served.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "demo")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text(nl("Templates"))


def test_every_page_is_dutch_for_a_dutch_browser(browser, served, demo_activity):
    from site_map import discover, url_map

    context = dutch_context(browser)
    try:
        page = context.new_page()
        log_in(page, served, "admin@example.com")
        pages = discover(context.request, served.url, url_map(), demo_activity)
        assert len(pages) > 40
        data = data_values(served)
        english = []
        for endpoint, path in pages:
            html = context.request.get(served.url + path).text()
            assert '<html lang="nl">' in html, path
            english += [f"{path} ({endpoint}): {text[:160]}" for text in still_english(html, data)]
    finally:
        context.close()
    assert not english, f"{len(english)} English texts on Dutch pages:\n" + "\n".join(english[:60])


@pytest.mark.parametrize("width", [390, 1366])
def test_a_marketer_works_in_dutch(browser, served, width):
    context = dutch_context(browser, width)
    page = context.new_page()
    try:
        log_in(page, served, "marketer@example.com")
        assert fits(page, width)
        menu_click(page, nl("Templates"))
        page.get_by_role("link", name=nl("New template")).first.click()
        expect(page.locator("h1")).to_have_text(nl("New template"))
        page.fill("#starter_name", f"Nieuwsbrief {width}")
        page.locator(".starter-card button[name=starter]").first.click()
        expect(page.locator("h1")).to_have_text(f"Nieuwsbrief {width}")
        flash = page.locator(".flash-success")
        expect(flash).to_be_visible()
        assert not english_words(flash.inner_text()), flash.inner_text()
        assert fits(page, width)

        page.goto(f"{served.url}/account")
        expect(page.locator("#language-heading")).to_have_text("Taal en tijdzone")
        page.select_option("#ui-language", "de")
        page.get_by_role("button", name=nl("Save language and time zone")).click()
        expect(page.locator(".flash-success")).to_have_text("Sprache und Zeitzone gespeichert.")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        assert fits(page, width)
        page.select_option("#ui-language", "")
        page.get_by_role("button", name="Sprache und Zeitzone speichern").click()
        expect(page.locator(".flash-success")).to_have_text("Taal en tijdzone opgeslagen.")
        expect(page.locator("html")).to_have_attribute("lang", "nl")
    finally:
        context.close()

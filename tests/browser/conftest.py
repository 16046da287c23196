"""Browser fixtures: the product served on embedded defaults, and Debian's Chromium via Playwright.

Without ``/usr/bin/chromium`` the browser tests skip with a reason;
``.ci/run`` installs it, so in CI they always run.
"""

import os
import shutil
from pathlib import Path

import pytest
from support import ServedProduct

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    product = ServedProduct(tmp_path_factory.mktemp("served"))
    product.start()
    yield product
    product.stop()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium to run browser tests")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(params=[390, 1366])
def sized(browser, request):
    """``(page, width)`` on a phone (390 px) and on a laptop (1366 px)."""
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page, request.param
    context.close()


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def axe_source():
    """axe-core's script, from npm (``package.json``; ``npm ci`` or ``make assets``)."""
    if not AXE.exists():
        pytest.skip("no node_modules/axe-core: run `npm ci` (or `make assets`)")
    return AXE.read_text()


ROLES = {"admin": "admin@example.com", "marketer": "marketer@example.com"}


@pytest.fixture(scope="session")
def signed_in(browser, served):
    """``signed_in(role)``: a browser context logged in as the demo admin or marketer."""
    contexts = {}

    def context_for(role):
        if role not in contexts:
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.goto(f"{served.url}/login")
            page.fill("input[name=email]", ROLES[role])
            page.fill("input[name=password]", "demo")
            page.click("button[type=submit]")
            page.wait_for_url(f"{served.url}/templates")
            page.close()
            contexts[role] = context
        return contexts[role]

    yield context_for
    for context in contexts.values():
        context.close()


@pytest.fixture(scope="session")
def demo_activity(signed_in, served):
    """A message sent to a contact and a campaign draft, so their pages exist; returns
    an e-mail template's pages to visit."""
    from site_map import add_activity

    return add_activity(signed_in("admin").request, served.url)


@pytest.fixture(scope="session")
def site_pages(signed_in, served, demo_activity):
    """``site_pages(role)``: ``[(endpoint, path)]`` of every page that role can open."""
    from site_map import discover, url_map

    routes, found = url_map(), {}

    def pages_for(role):
        if role not in found:
            found[role] = discover(signed_in(role).request, served.url, routes, demo_activity)
        return found[role]

    return pages_for

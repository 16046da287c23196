"""Connecting a mailbox with OAuth2 in a real Chromium: the administrator sets up a provider
(the local Authlib authorization server), a marketer signs in at it and consents on its
page, and My mailbox says whose account is connected."""

import os

import pytest
from oauth_server import CLIENT_ID, CLIENT_SECRET, SCOPE, Provider
from playwright.sync_api import expect
from support import free_port
from test_demo_flow import log_in

pytestmark = pytest.mark.browser
ACCOUNT = "carol@example.test"


@pytest.fixture
def provider(served):
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    provider = Provider()
    provider.start(free_port())
    provider.allow_redirect(f"{served.url}/oauth/callback")
    yield provider
    provider.stop()


def test_a_marketer_connects_their_mailbox_through_the_provider(browser, page, served, provider):
    admin = browser.new_context().new_page()
    log_in(admin, served, "admin@example.com")
    admin.goto(f"{served.url}/settings/oauth")
    expect(admin.locator("main")).to_contain_text(f"{served.url}/oauth/callback")
    generic = admin.locator("form", has=admin.locator("input[name=provider][value=generic]"))
    generic.locator("input[name=client_id]").fill(CLIENT_ID)
    generic.locator("input[name=client_secret]").fill(CLIENT_SECRET)
    generic.locator("input[name=authorize_url]").fill(f"{provider.url}/authorize")
    generic.locator("input[name=token_url]").fill(f"{provider.url}/token")
    generic.locator("input[name=scopes]").fill(SCOPE)
    generic.locator("input[name=smtp_host]").fill("127.0.0.1")
    generic.locator("input[name=imap_host]").fill("127.0.0.1")
    generic.locator("button[type=submit]").click()
    expect(admin.locator(".flash-success")).to_contain_text("another provider sign-in saved")
    admin.context.close()

    log_in(page, served)
    page.goto(f"{served.url}/settings/mailbox")
    page.fill("#oauth-account-generic", ACCOUNT)
    page.click("text=Connect another provider's account")
    expect(page).to_have_title("Test sign-in")  # the provider's own page
    assert page.url.startswith(f"{provider.url}/authorize")
    assert "code_challenge_method=S256" in page.url
    page.click("button[value=yes]")

    expect(page.locator(".flash-success")).to_have_text(f"Connected as {ACCOUNT}.")
    expect(page.locator(".oauth-status")).to_contain_text(f"Connected as {ACCOUNT}")
    assert page.url == f"{served.url}/settings/mailbox"
    assert provider.find  # the tokens it issued are the ones kept
    assert len(provider.tokens) == 1 and provider.tokens[0].account == ACCOUNT

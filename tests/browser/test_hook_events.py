"""Hook sources' event list in Chromium: events the processor has not written yet, done and
failed ones read in words, the page no wider than the screen."""

import hashlib
import hmac
import json
import time
import urllib.request

import pytest

pytestmark = pytest.mark.browser


def post(served, secret, event):
    body = json.dumps(event).encode()
    now = int(time.time())
    digest = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(  # noqa: S310 - the served product on loopback
        f"{served.url}/hooks/events",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Designer-Timestamp": str(now),
            "X-Designer-Signature": f"sha256={digest}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return answer.status


@pytest.fixture(scope="module")
def posted(served):
    secret = served.designer("hooks", "add-source", "browser-crm").strip()
    good = {"id": "b-1", "type": "contact.created", "record": {"id": "B-1", "first_name": "Bo"}}
    bad = {"id": "b-2", "type": "invoice.updated", "record": {"id": "NEVER", "owner": "x@y.z"}}
    return [post(served, secret, good), post(served, secret, bad)]


def test_the_event_list_reads_in_words_on_a_phone_and_a_laptop(sized, served, signed_in, posted):
    page, width = sized
    assert posted == [202, 202]
    cookies = signed_in("admin").cookies()
    page.context.add_cookies(cookies)
    deadline = time.monotonic() + 30
    while True:  # the served product's worker writes the records a moment later
        page.goto(f"{served.url}/settings/hooks")
        text = page.locator("main").inner_text()
        if ("failed" in text and "done" in text) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "B-1" in text and "done" in text, text
    assert "failed" in text and "record.number: a new invoice needs a number" in text, text
    source = page.locator("table").first.locator("tr", has_text="browser-crm")
    assert "never" not in source.inner_text()  # its last event, noted before the states
    assert "#None" not in text
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=f"/tmp/hook-events-{width}.png", full_page=True)

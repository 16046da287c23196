"""What the CRM's administrator reads when ``POST /hooks/events`` refuses a request: the
status and the whole JSON error of each refusal of both schemes (a missing header as an
empty one), the source named in a header as real clients send it, the source name refused
by ``designer hooks add-source``, and the schemes each source's secret serves."""

import base64
import json
import time

from workflow_support import our_headers, standard_headers

from designer import workflows
from designer.crypto import encrypt
from designer.extensions import db
from designer.workflows import sources

BODY = json.dumps({"id": "e-1", "type": "contact.created", "record": {"id": "C-1"}}).encode()
LEGACY_SECRET = "whsec_" + "Ab-_" * 10 + "xyz"  # made before Standard Webhooks: ours only


def post(client, headers, body=BODY):
    return client.post("/hooks/events", data=body, content_type="application/json",
                       headers=headers)  # fmt: skip


def error(code, message):
    return {"error": {"code": code, "message": message, "details": {}}}


def ours(secret, timestamp=None, body=BODY):
    """Our scheme's headers, signed now unless ``timestamp`` is given."""
    return our_headers(secret, int(time.time()) if timestamp is None else timestamp, body)


def standard(secret, msg_id="msg_1", timestamp=None, body=BODY):
    """Standard Webhooks headers, signed now unless ``timestamp`` is given."""
    when = int(time.time()) if timestamp is None else timestamp
    return standard_headers(secret, msg_id, when, body)


def test_a_request_without_our_timestamp_is_told_which_header_to_send(client, hook_secret):
    for headers in ({}, {"X-Designer-Signature": ours(hook_secret)["X-Designer-Signature"]}):
        answer = post(client, headers)
        assert answer.status_code == 401
        assert answer.json == error(
            "bad_timestamp", "X-Designer-Timestamp must be the Unix time in seconds"
        )
    answer = post(client, {**ours(hook_secret), "X-Designer-Timestamp": "soon"})
    assert (
        answer.json["error"]["message"] == "X-Designer-Timestamp must be the Unix time in seconds"
    )


def test_a_standard_request_without_its_timestamp_is_told_which_header_to_send(client, hook_secret):
    headers = standard(hook_secret)
    del headers["webhook-timestamp"]
    answer = post(client, headers)
    assert answer.status_code == 401
    assert answer.json == error(
        "bad_timestamp", "webhook-timestamp must be the Unix time in seconds"
    )


def test_a_standard_request_without_its_id_is_told_what_the_id_must_be(client, hook_secret):
    expected = error(
        "bad_id",
        "webhook-id must be the message's unique id: 1 to 200 printable ASCII characters "
        "without spaces",
    )
    for msg_id in (None, "", "a b"):
        headers = standard(hook_secret)
        if msg_id is None:
            del headers["webhook-id"]
        else:
            headers["webhook-id"] = msg_id
        answer = post(client, headers)
        assert (answer.status_code, answer.json) == (401, expected), msg_id


def test_a_stale_request_is_told_to_sign_each_delivery_when_it_is_sent(client, hook_secret):
    expected = error(
        "stale_timestamp",
        "the timestamp is more than 300 s from now: check the sender's clock, and sign each "
        "delivery when it is sent",
    )
    late = int(time.time()) - 3600
    for headers in (ours(hook_secret, late), standard(hook_secret, timestamp=late)):
        answer = post(client, headers)
        assert (answer.status_code, answer.json) == (401, expected)


def test_our_signature_header_in_another_form_is_told_its_form(client, hook_secret):
    for value in ("deadbeef", "", "sha1=" + "a" * 64):
        answer = post(client, {**ours(hook_secret), "X-Designer-Signature": value})
        assert answer.status_code == 401
        assert answer.json == error(
            "bad_signature", "X-Designer-Signature must be 'sha256=<hex HMAC>'"
        )


def test_a_wrong_signature_is_told_the_body_or_the_secret_is_wrong(client, hook_secret):
    expected = error(
        "bad_signature",
        "the signature does not match the body under any source's secret (tampered body, "
        "or a wrong secret)",
    )
    other = "whsec_" + base64.b64encode(b"w" * 32).decode()
    for headers, body in (
        (ours(hook_secret), BODY.replace(b"C-1", b"C-2")),
        (ours(other), BODY),
        (standard(other), BODY),
    ):
        answer = post(client, headers, body)
        assert (answer.status_code, answer.json) == (401, expected)


def test_a_replayed_request_is_told_to_sign_a_new_delivery_again(client, hook_secret):
    expected = error(
        "replayed",
        "this exact signed request was received before: a new delivery must be signed again "
        "with a new timestamp",
    )
    for headers in (ours(hook_secret), standard(hook_secret)):
        assert post(client, headers).status_code in (200, 202)
        answer = post(client, headers)
        assert (answer.status_code, answer.json) == (409, expected)


def test_standard_requests_before_any_standard_secret_are_told_to_make_one(client, app):
    source, _ = workflows.add_source("legacy")
    source.secret_encrypted = encrypt(LEGACY_SECRET)
    db.session.commit()
    key = "whsec_" + base64.b64encode(b"k" * 32).decode()
    answer = post(client, standard(key))
    assert answer.status_code == 401
    assert answer.json == error(
        "bad_signature",
        "no source has a Standard Webhooks secret yet (secrets made before are for "
        "X-Designer-Signature only): make a new secret on Hook sources",
    )


def test_the_source_named_as_clients_send_it_picks_its_secret(client, hook_secret):
    """HTTP/2 clients send header names in lower case; the source named need not be the
    first one by name."""
    _, erp_secret = workflows.add_source("erp")
    for name in ("x-designer-source", "X-DESIGNER-SOURCE"):
        body = json.dumps({"id": name, "type": "contact.created", "record": {"id": "C"}})
        body = body.encode()
        answer = post(client, {**ours(erp_secret, body=body), name: "ERP"}, body)
        assert answer.status_code == 202, answer.json
    answer = post(client, {**ours(hook_secret), "x-designer-source": "erp"})
    assert answer.json["error"]["code"] == "bad_signature"


def test_the_cli_says_what_a_source_name_may_be(runner, app):
    result = runner.invoke(args=["hooks", "add-source", "Bad Name!"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "Error: a source name is 1 to 64 lower-case letters, digits, '.', '_' or '-' "
        "(and not 'app')"
    )
    assert workflows.list_sources() == []


def test_the_page_lists_sources_by_name_with_the_schemes_each_secret_serves(
    admin_client, hook_secret
):
    billing, _ = workflows.add_source("billing")  # added after "crm", listed before it
    billing.secret_encrypted = encrypt(LEGACY_SECRET)
    db.session.commit()
    listed = workflows.list_sources()
    assert [source.name for source in listed] == ["billing", "crm"]
    assert [sources.serves_standard(source) for source in listed] == [False, True]
    page = admin_client.get("/settings/hooks").text
    assert page.count("both schemes") == 1 and page.count("X-Designer only") == 1
    places = [
        page.index(text) for text in (">billing<", "X-Designer only", ">crm<", "both schemes")
    ]
    assert places == sorted(places)

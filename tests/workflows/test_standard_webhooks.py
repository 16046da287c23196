"""POST /hooks/events signed the Standard Webhooks way: the standardwebhooks package's own
signer, hand-made headers, several signatures, rotation, stale and replayed requests and
odd bytes in each header (always 4xx, never 500)."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from support import csrf_token
from workflow_support import dutch_invoice_event, signature

from designer import workflows
from designer.crypto import encrypt
from designer.extensions import db
from designer.workflows import sources
from designer.workflows.models import Event


def count_events():
    return db.session.scalar(db.select(db.func.count(Event.id)))


def event_body(event_id=None):
    event = dutch_invoice_event()
    if event_id is None:
        del event["id"]  # the webhook-id names the event
    else:
        event["id"] = event_id
    return json.dumps(event).encode()


@pytest.fixture
def post_standard(client, hook_secret):
    """``post_standard(body, msg_id=…)`` signed with the library's ``Webhook.sign``."""

    def post(body=None, *, msg_id="msg_1", secret=hook_secret, when=None, headers=None):
        body = body if body is not None else event_body()
        when = when or datetime.now(UTC)
        signed = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, when, body.decode()),
        }
        signed.update(headers or {})
        return client.post(
            "/hooks/events", data=body, content_type="application/json", headers=signed
        )

    return post


def hand_signed(secret, msg_id, timestamp, body):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def test_new_secrets_are_standard_webhooks_secrets(hook_secret):
    assert hook_secret.startswith("whsec_")
    key = base64.b64decode(hook_secret[6:], validate=True)
    assert 24 <= len(key) <= 32
    assert sources.standard_key(hook_secret) == key


def test_the_library_signer_is_accepted_and_the_webhook_id_is_the_event_id(post_standard):
    answer = post_standard(msg_id="msg_2Kx9")
    assert answer.status_code == 202, answer.text
    event = db.session.get(Event, answer.json["event"])
    assert (event.source, event.event_id, event.type) == ("crm", "msg_2Kx9", "invoice.created")


def test_a_redelivery_with_the_same_webhook_id_runs_nothing_again(post_standard):
    first = post_standard(event_body("evt-1"), msg_id="msg_a")
    later = datetime.now(UTC) + timedelta(seconds=2)  # re-signed, as a sender retries
    again = post_standard(event_body("evt-other"), msg_id="msg_a", when=later)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json["status"] == "duplicate" and again.json["event"] == first.json["event"]
    assert count_events() == 1


def test_any_one_valid_signature_of_several_passes(client, hook_secret):
    body, now = event_body(), int(time.time())
    good = hand_signed(hook_secret, "msg_s", now, body)
    other = hand_signed("whsec_" + base64.b64encode(b"x" * 32).decode(), "msg_s", now, body)
    answer = client.post(
        "/hooks/events",
        data=body,
        content_type="application/json",
        headers={
            "webhook-id": "msg_s",
            "webhook-timestamp": str(now),
            "webhook-signature": f"v1a,c29tZXRoaW5n {other} v1,not-base64!! {good}",
        },
    )
    assert answer.status_code == 202, answer.text


def test_a_wrong_signature_is_refused_and_nothing_stored(post_standard, client, hook_secret):
    wrong = "whsec_" + base64.b64encode(b"w" * 32).decode()
    answer = post_standard(secret=wrong)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "bad_signature"
    body, now = event_body(), int(time.time())
    tampered = client.post(
        "/hooks/events",
        data=body.replace(b"1000.00", b"1.00"),
        content_type="application/json",
        headers={
            "webhook-id": "msg_t",
            "webhook-timestamp": str(now),
            "webhook-signature": hand_signed(hook_secret, "msg_t", now, body),
        },
    )
    assert tampered.status_code == 401
    other_id = post_standard(headers={"webhook-id": "msg_other"})  # signed for msg_1
    assert other_id.status_code == 401
    assert count_events() == 0


def test_a_stale_or_future_timestamp_is_refused(post_standard):
    for skew in (-301, 301):
        answer = post_standard(when=datetime.now(UTC) + timedelta(seconds=skew))
        assert answer.status_code == 401
        assert answer.json["error"]["code"] == "stale_timestamp"
    assert count_events() == 0


def test_the_same_signed_request_again_is_a_replay(client, hook_secret):
    body, now = event_body(), int(time.time())
    headers = {
        "webhook-id": "msg_r",
        "webhook-timestamp": str(now),
        "webhook-signature": hand_signed(hook_secret, "msg_r", now, body),
    }
    post = lambda: client.post(  # noqa: E731
        "/hooks/events", data=body, content_type="application/json", headers=headers
    )
    assert post().status_code == 202
    replay = post()
    assert replay.status_code == 409 and replay.json["error"]["code"] == "replayed"


ODD_VALUES = [
    "",
    " ",
    "é",
    "msg\u00ff",
    "v1,\u00e9\u00e9==",
    "\u0000",
    "a" * 5000,
    ",",
    "v1,",
    "1e3",
]


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_odd_bytes_in_each_header_are_a_4xx_never_a_500(client, hook_secret, header):
    body, now = event_body(), int(time.time())
    good = {
        "webhook-id": "msg_o",
        "webhook-timestamp": str(now),
        "webhook-signature": hand_signed(hook_secret, "msg_o", now, body),
    }
    for value in ODD_VALUES:
        headers = {**good, header: value}
        answer = client.post("/hooks/events", data=body, content_type="application/json",
                             headers=headers)  # fmt: skip
        assert 400 <= answer.status_code < 500, (header, value, answer.status_code)
        assert answer.json["error"]["code"] in ("bad_id", "bad_timestamp", "bad_signature")
    raw = client.post(
        "/hooks/events",
        data=body,
        content_type="application/json",
        environ_overrides={f"HTTP_{header.upper().replace('-', '_')}": "\xff\xfe\x80\x00"},
        headers={k: v for k, v in good.items() if k != header},
    )
    assert 400 <= raw.status_code < 500
    assert count_events() == 0


def test_older_secrets_keep_working_for_our_scheme_only(client, demo):
    source, _ = workflows.add_source("legacy")
    legacy = "whsec_" + "Ab-_" * 10 + "xyz"  # as made before: a URL-safe token
    source.secret_encrypted = encrypt(legacy)
    db.session.commit()
    assert sources.standard_key(legacy) is None and not sources.serves_standard(source)
    body, now = json.dumps(dutch_invoice_event()).encode(), int(time.time())
    ours = client.post(
        "/hooks/events",
        data=body,
        content_type="application/json",
        headers={
            "X-Designer-Timestamp": str(now),
            "X-Designer-Signature": signature(legacy, now, body),
        },
    )
    assert ours.status_code == 202
    when = datetime.now(UTC)
    standard = client.post(
        "/hooks/events",
        data=body,
        content_type="application/json",
        headers={
            "webhook-id": "msg_l",
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(legacy).sign("msg_l", when, body.decode()),
        },
    )
    assert standard.status_code == 401
    assert "new secret" in standard.json["error"]["message"]


def test_a_new_secret_works_for_our_scheme_too(post_event, hook_secret):
    assert post_event(dutch_invoice_event()).status_code == 202


def test_during_a_rotation_both_secrets_work_until_it_ends(post_standard, post_event, hook_secret):
    [source] = workflows.list_sources()
    new = workflows.rotate_secret(source)
    assert sources.rotating(source)
    assert post_standard(msg_id="m1", secret=hook_secret).status_code == 202
    assert post_standard(msg_id="m2", secret=new).status_code == 202
    assert post_event(dutch_invoice_event("e3"), secret=hook_secret).status_code == 202
    sources.end_rotation(source)
    assert post_standard(msg_id="m4", secret=hook_secret).status_code == 401
    assert post_standard(msg_id="m5", secret=new).status_code == 202


def test_the_previous_secret_expires_by_itself(post_standard, hook_secret):
    [source] = workflows.list_sources()
    new = workflows.rotate_secret(source, now=datetime.now() - timedelta(days=8))
    assert not sources.rotating(source)
    assert post_standard(msg_id="m1", secret=hook_secret).status_code == 401
    assert post_standard(msg_id="m2", secret=new).status_code == 202


def test_the_page_shows_both_recipes_and_the_rotation(admin_client, hook_secret):
    page = admin_client.get("/settings/hooks").text
    assert "openssl dgst -sha256 -hmac" in page
    assert "from standardwebhooks import Webhook" in page
    assert "http://designer.test/hooks/events" in page
    token = csrf_token(admin_client, "/settings/hooks")
    [source] = workflows.list_sources()
    rotated = admin_client.post(f"/settings/hooks/{source.id}/rotate", data={"csrf_token": token})
    assert "Rotating: the previous secret still works until" in rotated.text
    ended = admin_client.post(
        f"/settings/hooks/{source.id}/end-rotation",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "no longer works" in ended.text and "Rotating:" not in ended.text


def test_ending_a_rotation_is_for_administrators(marketer_client, hook_secret):
    [source] = workflows.list_sources()
    token = csrf_token(marketer_client, "/templates")
    path = f"/settings/hooks/{source.id}/end-rotation"
    assert marketer_client.post(path, data={"csrf_token": token}).status_code == 403

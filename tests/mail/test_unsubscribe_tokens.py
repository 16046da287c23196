"""Unsubscribe tokens and the other keys derived from SECRET_KEY, as an attacker sees them:
a token signed with another secret, moved to another message, truncated or padded is
refused, and each key serves one purpose only."""

import json
from datetime import datetime

import pytest

from designer import signing, webhooks
from designer.auth import links as password_links
from designer.crypto import SecretUnreadable, decrypt, encrypt
from designer.extensions import db
from designer.mail.links import LinkSigner
from designer.mail.models import Suppression, SuppressionEvent
from designer.mail.suppression import (
    is_suppressed,
    one_click_warning,
    parse_unsubscribe_token,
    suppress,
    suppressed_among,
    suppressed_set,
    suppressions_from,
    unsubscribe_address,
    unsubscribe_headers,
    unsubscribe_token,
)
from designer.webhooks.models import WebhookDelivery

SECRET = "pinned secret"
TOKEN = "AbC-123_xyz"
SIGNED = f"{TOKEN}.d18d511e0016d390d544"
#: ``encrypt("smtp password")`` under SECRET, as stored in a database today.
STORED = (
    "gAAAAABrEYRvW-8p18YOMvImc4Xuls1MNl-FrA_i_Eqlodr4ipwkB8CDOx6w7l9yjbZ3c"
    "iAR474KLQps_vlt5MQHOkClul31Rw=="
)


@pytest.fixture
def pinned(app_with):
    with app_with(SECRET_KEY=SECRET).app_context():
        yield


def signed_elsewhere(app_with, message_token, secret="another secret"):
    with app_with(SECRET_KEY=secret).app_context():
        return unsubscribe_token(message_token)


def test_a_token_signed_with_another_secret_is_refused(app_with):
    forged = signed_elsewhere(app_with, TOKEN)
    assert forged != SIGNED
    with app_with(SECRET_KEY=SECRET).app_context():
        assert parse_unsubscribe_token(forged) is None
        assert parse_unsubscribe_token(SIGNED) == TOKEN


def test_a_signature_moved_to_another_message_is_refused(pinned):
    signature = SIGNED.rpartition(".")[2]
    for other in ("AbC-123_xyZ", "AbC-123_xy", TOKEN + "0", "x"):
        assert parse_unsubscribe_token(f"{other}.{signature}") is None
    assert parse_unsubscribe_token(unsubscribe_token("x")) == "x"


@pytest.mark.parametrize(
    "token",
    [
        SIGNED[:-1],
        SIGNED + "0",
        SIGNED.upper(),
        SIGNED.replace(".", ""),
        SIGNED.replace(".", ".."),
        f"{SIGNED} ",
        f" {SIGNED}",
        SIGNED + "\n",
        SIGNED.rpartition(".")[2],
        f".{SIGNED.rpartition('.')[2]}",
        TOKEN,
        TOKEN + ".",
        "",
        None,
        "é" + SIGNED,
    ],
)
def test_truncated_padded_or_mangled_tokens_are_refused(pinned, token):
    assert parse_unsubscribe_token(token) is None


def test_message_tokens_of_one_to_sixty_four_characters_round_trip(pinned):
    for message_token in ("a", "a" * 64, "Z-9_"):
        assert parse_unsubscribe_token(unsubscribe_token(message_token)) == message_token
    assert parse_unsubscribe_token(unsubscribe_token("a" * 65)) is None
    assert parse_unsubscribe_token(unsubscribe_token("a/b")) is None


def test_every_secret_signature_position_is_checked(pinned):
    """Each of the 20 hex digits counts: a token with any one changed is refused."""
    message_token, signature = SIGNED.split(".")
    for at, digit in enumerate(signature):
        changed = "0" if digit != "0" else "1"
        forged = f"{message_token}.{signature[:at]}{changed}{signature[at + 1 :]}"
        assert parse_unsubscribe_token(forged) is None, at


def test_tokens_of_one_purpose_are_refused_for_another(pinned):
    signer = LinkSigner(signing.mac_key(), "https://designer.example")
    pixel = signer.pixel_url(TOKEN).rpartition("/")[2].removesuffix(".gif")
    webview = signer.webview_url(TOKEN).rpartition("/")[2]
    for borrowed in (pixel, webview):
        assert parse_unsubscribe_token(borrowed) is None
    assert signer.parse_pixel(SIGNED) is None and signer.parse_webview(SIGNED) is None
    assert signing.unsubscribe_key() != signing.mac_key()


def test_mac_keys_and_macs_take_text_or_bytes_alike(pinned):
    assert signing.mac_key() == signing.mac_key(SECRET) == signing.mac_key(SECRET.encode())
    assert signing.mac_key("another secret") != signing.mac_key()
    key = signing.mac_key()
    assert signing.mac(key, "data", b"purpose", 8) == signing.mac(key, b"data", b"purpose", 8)
    assert len(signing.mac(key, "data", b"purpose", 8)) == 16
    assert signing.mac(key, "data", b"purpose", 8) != signing.mac(key, "data", b"other", 8)
    assert signing.mac(key, "data", b"purpose", 8) != signing.mac(key, "date", b"purpose", 8)


def test_secrets_stored_earlier_stay_readable_and_only_under_their_secret(app_with):
    with app_with(SECRET_KEY=SECRET).app_context():
        assert decrypt(STORED) == "smtp password"
        assert decrypt(encrypt("dkim key")) == "dkim key"
    with app_with(SECRET_KEY="another secret").app_context(), pytest.raises(SecretUnreadable):
        decrypt(STORED)


def test_set_password_links_keep_their_bytes_and_need_the_secret(app_with):
    with app_with(SECRET_KEY=SECRET).app_context():
        made = password_links._serializer().dumps({"link": 7})
        assert made == "eyJsaW5rIjo3fQ.egAWUEH3VnPRj45e6DIUD4hCGc0"
        assert signing.serializer("another purpose").dumps({"link": 7}) != made
    with app_with(SECRET_KEY="another secret").app_context():
        assert password_links._serializer().dumps({"link": 7}) != made


def test_unsubscribe_headers_carry_the_signed_token_by_https_and_by_mail(app_with):
    with app_with(SECRET_KEY=SECRET, PUBLIC_URL="https://designer.example").app_context():
        headers = unsubscribe_headers(TOKEN, "ada@shop.example")
    assert headers == {
        "List-Unsubscribe": (
            f"<https://designer.example/u/{SIGNED}>, "
            f"<mailto:unsubscribe@shop.example?subject=unsubscribe%20{SIGNED}>"
        ),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert unsubscribe_address("ada@") == "unsubscribe@designer.local"
    assert unsubscribe_address('"ada@home"@shop.example') == "unsubscribe@shop.example"


def test_one_click_needs_an_https_public_url():
    assert one_click_warning("https://designer.example") == ""
    assert one_click_warning("HTTPS://designer.example") == ""
    for url in ("http://designer.example", "", None, "designer.example"):
        warning = one_click_warning(url)
        assert warning.startswith(f"PUBLIC_URL is {url}: one-click unsubscribe (RFC 8058)")
        assert warning.endswith(
            "so mail programs will not offer it. Serve Designer over https and set "
            "PUBLIC_URL to that address."
        )


def test_an_address_is_suppressed_once_in_any_case_and_announced_once(app):
    app.config["ALLOWED_WEBHOOK_HOSTS"] = "127.0.0.1"  # recorded only: nothing is delivered
    endpoint, _ = webhooks.create_endpoint("http://127.0.0.1:9/hook", ["contact.unsubscribed"])
    assert suppress(" Sanne@Example.NL ", campaign_id=7) is True
    assert suppress("sanne@example.nl") is False
    assert suppress("  ") is False and suppress(None) is False
    assert is_suppressed("SANNE@example.nl ") and not is_suppressed("other@example.nl")
    assert suppressed_among(["Sanne@example.nl", "other@example.nl", "", None]) == {
        "sanne@example.nl"
    }
    assert suppressed_among([]) == set() and suppressed_among([None]) == set()
    assert suppress("bounced@example.nl", reason="bounced", campaign_id=7, actor="mx.example")
    assert suppressed_set() == {"sanne@example.nl", "bounced@example.nl"}
    assert suppressions_from(7) == 2 and suppressions_from(8) == 0
    [row] = db.session.scalars(db.select(WebhookDelivery)).all()  # the bounce is not announced
    assert row.endpoint_id == endpoint.id and row.event_type == "contact.unsubscribed"
    data = json.loads(row.body)["data"]
    assert (data["email"], data["campaign_id"]) == ("sanne@example.nl", 7)
    assert datetime.fromisoformat(data["at"]).year >= 2024
    rows = db.session.scalars(db.select(Suppression).order_by(Suppression.email)).all()
    assert [(r.email, r.reason, r.campaign_id) for r in rows] == [
        ("bounced@example.nl", "bounced", 7),
        ("sanne@example.nl", "unsubscribed", 7),
    ]
    audit = db.session.scalars(db.select(SuppressionEvent).order_by(SuppressionEvent.email)).all()
    assert [(e.email, e.action, e.reason, e.campaign_id) for e in audit] == [  # once each
        ("bounced@example.nl", "added", "bounced", 7),
        ("sanne@example.nl", "added", "unsubscribed", 7),
    ]
    assert audit[0].actor == "mx.example" and audit[1].actor not in ("", "mx.example")

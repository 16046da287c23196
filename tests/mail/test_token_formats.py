"""Tokens in mail already sent keep working: click, pixel, unsubscribe and VERP tokens are
the same bytes for the same secret, message token and link, whatever module makes them."""

from designer.mail import bounces
from designer.mail.links import Click, LinkSigner
from designer.mail.suppression import parse_unsubscribe_token, unsubscribe_token

SECRET = "pinned secret"
BASE = "https://designer.example"
TOKEN = "AbC-123_xyz"
TARGET = "https://shop.example.com/?id=7&l=nl"


def test_click_and_pixel_urls_keep_their_bytes():
    signer = LinkSigner(SECRET, BASE)
    assert signer.url(TOKEN, 0) == f"{BASE}/c/{TOKEN}.0.ea6794e8281b39a4f1d8"
    assert signer.url(TOKEN, 2, TARGET) == (
        f"{BASE}/c/{TOKEN}.2.aHR0cHM6Ly9zaG9wLmV4YW1wbGUuY29tLz9pZD03Jmw9bmw.a9fdb2bb68cda5e2ff95"
    )
    assert signer.pixel_url(TOKEN) == f"{BASE}/o/{TOKEN}.13861c0d5d80377cbe30.gif"
    assert signer.parse(signer.url(TOKEN, 2, TARGET).rpartition("/")[2]) == Click(TOKEN, 2, TARGET)
    assert signer.parse_pixel(f"{TOKEN}.13861c0d5d80377cbe30") == TOKEN


def test_unsubscribe_and_verp_tokens_keep_their_bytes(app_with):
    with app_with(SECRET_KEY=SECRET).app_context():
        assert unsubscribe_token(TOKEN) == f"{TOKEN}.d18d511e0016d390d544"
        assert parse_unsubscribe_token(f"{TOKEN}.d18d511e0016d390d544") == TOKEN
        assert bounces.verp_address("bounces@designer.example", 42) == (
            "bounces+42-3874c2c6dc534e0f@designer.example"
        )


def test_web_view_and_preference_urls_keep_their_bytes_and_are_not_interchangeable():
    signer = LinkSigner(SECRET, BASE)
    webview, preferences = "34183391c8c453c36363", "ccbee86862df195222ed"
    assert signer.webview_url(TOKEN) == f"{BASE}/v/{TOKEN}.{webview}"
    assert signer.preferences_url(TOKEN) == f"{BASE}/p/{TOKEN}.{preferences}"
    assert signer.parse_webview(f"{TOKEN}.{webview}") == TOKEN
    assert signer.parse_preferences(f"{TOKEN}.{preferences}") == TOKEN
    assert signer.parse_webview(f"{TOKEN}.{preferences}") is None
    assert signer.parse_preferences(f"{TOKEN}.{webview}") is None
    assert signer.parse_pixel(f"{TOKEN}.{webview}") is None
    other = LinkSigner("another secret", BASE)
    assert other.parse_preferences(f"{TOKEN}.{preferences}") is None


def test_the_links_of_a_message_are_signed_each_with_its_index_and_merged_url():
    urls = LinkSigner(SECRET, BASE).urls(TOKEN, 3, {1: TARGET})
    assert urls == [
        f"{BASE}/c/{TOKEN}.0.ea6794e8281b39a4f1d8",
        f"{BASE}/c/{TOKEN}.1.aHR0cHM6Ly9zaG9wLmV4YW1wbGUuY29tLz9pZD03Jmw9bmw.a114a8985c6359a79c56",
        f"{BASE}/c/{TOKEN}.2.26e1291a5b5cb1f29230",
    ]
    assert LinkSigner(SECRET, BASE).urls(TOKEN, 1) == urls[:1]


def test_merged_urls_of_every_length_come_back_whole():
    signer = LinkSigner(SECRET, BASE)
    for target in ("https://x.example/a", "https://x.example/ab", "https://x.example/abc"):
        token = signer.url(TOKEN, 1, target).rpartition("/")[2]
        assert signer.parse(token) == Click(TOKEN, 1, target)

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

"""What a PDF template may load, URL by URL: every refused scheme and host, ``data:`` URIs
exactly at and one past the size bound, and the app's own stored assets.

The fetcher opens no connection of any kind: the refused URLs that name a host include
a listening loopback socket, which must see no connection attempt.
"""

import base64
import contextlib
import socket

import pytest

from designer.assets import store_asset
from designer.pdf import AssetFetcher, Refused, prefetch_assets, stored_asset
from designer.pdf.fetcher import MAX_PREFETCHED_ASSETS, decode_data_uri, origin

PUBLIC = "https://designer.example"
LIMIT = 100
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201b1bc3b6c0000000049454e44ae426082"
)


@pytest.fixture
def listener():
    """A loopback TCP socket nobody should connect to; yields its port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock.getsockname()[1]
    try:
        connection, _ = sock.accept()
    except BlockingIOError:
        pass
    else:
        connection.close()
        raise AssertionError("the fetcher connected to the loopback listener")
    finally:
        sock.close()


def fetcher(assets=None, **options):
    options.setdefault("public_url", PUBLIC)
    options.setdefault("max_resource_bytes", LIMIT)
    return AssetFetcher((assets or {1: (PNG, "image/png")}).get, **options)


def refused_reason(fetch, url):
    with pytest.raises(Refused) as error:
        fetch.fetch(url)
    return str(error.value)


REFUSED_URLS = [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "file://localhost/etc/hostname",
    "ftp://designer.example/assets/1/x.png",
    "gopher://127.0.0.1:{port}/x",
    "jar:file:///x.jar!/y",
    "javascript:alert(1)",
    "about:blank",
    "http://127.0.0.1:{port}/assets/1/logo.png",
    "http://localhost:{port}/x.css",
    "http://[::1]:{port}/x.css",
    "http://0.0.0.0:{port}/x.css",
    "http://2130706433:{port}/x.css",  # 127.0.0.1 as one number
    "http://10.0.0.1/x.png",
    "http://172.16.0.1/x.png",
    "http://192.168.1.1/x.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[fd00::1]/x.png",
    "http://[fe80::1]/x.png",
    "https://designer.example@127.0.0.1:{port}/assets/1/logo.png",
    "https://designer.example.127.0.0.1.nip.io/assets/1/logo.png",
    "http://designer.example/assets/1/logo.png",  # the app's host, another scheme
    "https://designer.example:8443/assets/1/logo.png",  # and another port
    "https://designer.example/redirect?to=http://127.0.0.1/",
    "https://designer.example/static/logo.png",
    "https://designer.example/assets/1/../../etc/passwd",
    "https://designer.example/assets/1",
    "//127.0.0.1:{port}/x.css",
    "/etc/passwd",
    "",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_every_other_scheme_host_and_path_is_refused_without_a_connection(listener, url):
    url = url.replace("{port}", str(listener))
    fetch = fetcher()
    reason = refused_reason(fetch, url)
    assert reason.startswith("only data: URIs and stored assets may be loaded: ")
    assert fetch.refused == [url]


def test_a_loopback_public_url_serves_its_assets_from_the_lookup_not_the_socket(listener):
    public = f"http://127.0.0.1:{listener}"
    fetch = fetcher(public_url=public)
    assert fetch.fetch(f"{public}/assets/1/logo.png").read() == PNG
    refused_reason(fetch, f"{public}/index.html")


def test_the_base_url_counts_as_the_apps_origin_too():
    fetch = fetcher(public_url="", base_url="https://render.example/")
    answer = fetch.fetch("https://render.example/assets/1/logo.png")
    assert answer.read() == PNG and answer.headers["Content-Type"] == "image/png"
    refused_reason(fetch, f"{PUBLIC}/assets/1/logo.png")


@pytest.mark.parametrize(
    ("url", "data", "content_type"),
    [
        ("data:," + "x" * LIMIT, b"x" * LIMIT, "text/plain;charset=US-ASCII"),
        ("data:text/css," + "%41" * LIMIT, b"A" * LIMIT, "text/css"),
        (
            "data:image/png;base64," + base64.b64encode(b"\x89" * LIMIT).decode(),
            b"\x89" * LIMIT,
            "image/png",
        ),
        ("DATA:text/plain;charset=utf-8;BASE64,aGk=", b"hi", "text/plain;charset=utf-8"),
        ("data:;base64,aGk=", b"hi", "text/plain;charset=US-ASCII"),
        ("data:text/plain,", b"", "text/plain"),
        ("data:text/css,p{font-family:a,b}", b"p{font-family:a,b}", "text/css"),
    ],
)
def test_data_uris_up_to_the_limit_are_decoded_here(url, data, content_type):
    assert fetcher().fetch(url).read() == data
    assert decode_data_uri(url) == (data, content_type)


@pytest.mark.parametrize(
    "url",
    [
        "data:," + "x" * (LIMIT + 1),
        "data:text/css," + "%41" * (LIMIT + 1),
        "data:image/png;base64," + base64.b64encode(b"\x89" * (LIMIT + 1)).decode(),
    ],
)
def test_data_uris_one_byte_past_the_limit_are_refused(url):
    fetch = fetcher()
    assert refused_reason(fetch, url).startswith("data: URI too large: ")
    assert fetch.refused == [url if len(url) <= 120 else url[:120] + "…"]


def test_a_data_uri_longer_than_any_encoding_of_the_limit_is_refused_unread():
    """Three characters a byte plus 1 KiB of header: longer cannot decode to the limit."""
    bound = 3 * LIMIT + 1024
    longest = "data:text/plain;" + "p" * (bound - len("data:text/plain;") - 2) + ",x"
    assert len(longest) == bound
    assert fetcher().fetch(longest).read() == b"x"
    assert refused_reason(fetcher(), longest.replace(",x", "p,x")).startswith("data: URI too large")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("data:text/plain", "malformed data: URI"),
        ("data:", "malformed data: URI"),
        ("data:;base64,a", "malformed base64 in data: URI"),
        ("data:image/png;base64,abcde", "malformed base64 in data: URI"),
    ],
)
def test_malformed_data_uris_are_refused_with_the_reason(url, reason):
    fetch = fetcher()
    assert refused_reason(fetch, url) == f"{reason}: {url}"


def test_assets_at_the_limit_load_and_one_byte_more_is_refused():
    fetch = fetcher({1: (b"a" * LIMIT, "image/png"), 2: (b"a" * (LIMIT + 1), "image/png")})
    assert fetch.fetch(f"{PUBLIC}/assets/1/at.png").read() == b"a" * LIMIT
    assert refused_reason(fetch, f"{PUBLIC}/assets/2/past.png").startswith("asset too large: ")
    assert refused_reason(fetch, f"{PUBLIC}/assets/3/gone.png").startswith("no such asset: ")
    assert fetch.refused == [f"{PUBLIC}/assets/2/past.png", f"{PUBLIC}/assets/3/gone.png"]


def test_an_asset_without_a_type_is_served_as_bytes():
    answer = fetcher({1: (b"abc", None)}).fetch(f"{PUBLIC}/assets/1/x")
    assert answer.headers["Content-Type"] == "application/octet-stream"


def test_each_asset_is_looked_up_once_even_when_missing():
    asked = []

    def lookup(asset_id):
        asked.append(asset_id)
        return None if asset_id == 2 else (PNG, "image/png")

    fetch = AssetFetcher(lookup, public_url=PUBLIC)
    for url in ("/assets/1/a.png", "/assets/1/b.png", "/assets/2/a.png", "/assets/2/b.png"):
        with contextlib.suppress(Refused):
            fetch.fetch(PUBLIC + url)
    assert asked == [1, 2]


def test_refused_urls_are_shown_shortened_to_a_hundred_and_twenty_characters():
    fetch = fetcher()
    exact = "file:///" + "a" * 112
    longer = exact + "b"
    for url in (exact, longer):
        refused_reason(fetch, url)
    assert fetch.refused == [exact, exact + "…"]


def test_the_real_lookup_reads_stored_assets(app):
    asset = store_asset("dot.png", "image/png", PNG)
    assert stored_asset(asset.id) == (PNG, "image/png")
    assert stored_asset(asset.id + 1) is None


def test_prefetch_reads_each_named_asset_once_and_at_most_two_hundred():
    asked = []

    def lookup(asset_id):
        asked.append(asset_id)
        return (b"x", "image/png")

    html = "".join(f'<img src="/assets/{n}/x.png">' for n in range(1, 205))
    found = prefetch_assets(lookup, html, 'url("assets/1/y.png")', None)
    assert len(found) == MAX_PREFETCHED_ASSETS and asked == list(range(1, 201))
    assert prefetch_assets(None, html) == {}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Designer.Example./x", ("https", "designer.example", 443)),
        ("HTTP://designer.example/x", ("http", "designer.example", 80)),
        ("http://designer.example:8080", ("http", "designer.example", 8080)),
        ("http://designer.example:99999/x", None),
        ("http:///x", None),
        ("ftp://designer.example/x", None),
        ("", None),
    ],
)
def test_origins_compare_scheme_host_and_port(url, expected):
    assert origin(url) == expected


def test_data_uri_parameters_are_kept_in_the_type():
    assert decode_data_uri("data:text/plain; charset=utf-8 ,x") == (
        b"x",
        "text/plain;charset=utf-8",
    )

"""Public endpoints never answer 5xx: any bytes in path, headers and body get a 4xx (or
the pixel's GIF). Property tests (Hypothesis) against the real app, plus the cases seen
to fail before: Unicode digits, non-ASCII signatures, huge numbers, wrong JSON types,
deep nesting, chunked bodies over the limit."""

import io
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import csrf_token

from designer import workflows
from designer.request_limits import MAX_EVENT_BYTES, MAX_JSON_DEPTH
from designer.tracking import PIXEL_GIF
from designer.workflows import sources

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
#: Path segments: ASCII and beyond, Unicode digits, dots, percent signs, huge numbers.
SEGMENT = st.one_of(
    st.text(min_size=0, max_size=80),
    st.text(alphabet="0123456789abcdef.²³١٢٣-_%", min_size=1, max_size=120),
    st.text(alphabet="0123456789", min_size=1, max_size=6000),
)
#: Header values a WSGI server can hand over (latin-1, no line breaks).
HEADER = st.text(
    alphabet=st.characters(max_codepoint=255, blacklist_characters="\r\n\x00"), max_size=200
)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def quoted(segment):
    from urllib.parse import quote

    return quote(segment, safe="")


def assert_not_5xx(response):
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


@pytest.fixture
def hook_secret(app):
    _, secret = workflows.add_source("crm")
    return secret


def signed_headers(secret, body, timestamp=None):
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    return {
        "X-Designer-Timestamp": timestamp,
        "Content-Type": "application/json",
        "X-Designer-Signature": sources.sign(secret, timestamp, body),
    }


@SETTINGS
@given(
    segment=SEGMENT,
    suffix=st.sampled_from([".gif", "", ".GIF"]),
    method=st.sampled_from(["GET", "HEAD", "POST"]),
)
def test_the_pixel_answers_the_gif_to_anything(client, segment, suffix, method):
    response = client.open(f"/o/{quoted(segment)}{suffix}", method=method)
    assert_not_5xx(response)
    if suffix == ".gif" and method == "GET":
        assert response.status_code == 200 and response.data == PIXEL_GIF


@SETTINGS
@given(segment=SEGMENT, user_agent=HEADER)
def test_clicks_and_unsubscribes_answer_404_to_anything(client, segment, user_agent):
    for prefix in ("/c/", "/u/", "/v/", "/p/"):
        response = client.get(prefix + quoted(segment), headers={"User-Agent": user_agent})
        assert response.status_code == 404
    assert_not_5xx(client.post("/u/" + quoted(segment)))
    assert client.post("/p/" + quoted(segment)).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/c/abc.%C2%B2.0123456789abcdef0123",
        "/c/abc.1.%E2%82%AC%E2%82%AC.0123456789abcdef0123",
        "/c/" + "a" * 5000,
        "/c/",
        "/c/..",
        "/c/a.1.b.c.d",
        "/u/abc.%C3%A9%C3%A9",
        "/u/" + "9" * 5000,
        "/u/.",
        "/v/abc.%C3%A9%C3%A9",
        "/v/" + "9" * 5000,
        "/v/.",
        "/p/abc.%C3%A9%C3%A9",
        "/p/" + "9" * 5000,
        "/p/.",
        "/o/abc.%C3%A9%C3%A9.gif",
        "/o/" + "a" * 5000 + ".gif",
    ],
)
def test_odd_bytes_seen_before_are_4xx(client, path):
    assert_not_5xx(client.get(path))


@SETTINGS
@given(timestamp=HEADER, signature=HEADER, source=HEADER, body=st.binary(max_size=300))
def test_the_hook_answers_4xx_to_any_headers_and_body(
    client, hook_secret, timestamp, signature, source, body
):
    headers = {
        "X-Designer-Timestamp": timestamp,
        "X-Designer-Signature": signature,
        "X-Designer-Source": source,
        "Content-Type": "application/json",
    }
    response = client.post("/hooks/events", data=body, headers=headers)
    assert 400 <= response.status_code < 500


@SETTINGS
@given(payload=JSON_VALUE)
def test_signed_events_of_any_shape_are_accepted_or_refused_in_words(client, hook_secret, payload):
    body = json.dumps(payload).encode()
    response = client.post("/hooks/events", data=body, headers=signed_headers(hook_secret, body))
    assert_not_5xx(response)
    if response.status_code >= 400:
        assert response.get_json()["error"]["message"]


RECORDS = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=10)},
    optional={
        name: JSON_VALUE
        for name in (
            "first_name",
            "name",
            "number",
            "email",
            "language",
            "timezone",
            "birthday",
            "organisation",
            "contact",
            "owner",
            "tags",
            "currency",
            "lines",
            "email_opt_out",
        )
    },
)


@SETTINGS
@given(record=RECORDS)
def test_record_upserts_of_any_types_are_refused_in_words(admin_api, record):
    for module in ("contact", "organisation", "invoice"):
        response = admin_api.put(f"/api/v1/records/{module}", json=record)
        assert_not_5xx(response)


@SETTINGS
@given(
    action=st.sampled_from(["created", "updated", "deleted"]),
    module=st.sampled_from(["contact", "organisation", "invoice"]),
    record=RECORDS,
)
def test_events_of_any_record_are_refused_in_words_or_end_done_or_failed(
    client, hook_secret, action, module, record
):
    """What the intake accepts, the processor writes or fails with a reason: no event is
    left waiting, no worker crashes on it."""
    from designer.extensions import db
    from designer.workflows.models import Event

    body = json.dumps({"id": "fuzz", "type": f"{module}.{action}", "record": record}).encode()
    response = client.post("/hooks/events", data=body, headers=signed_headers(hook_secret, body))
    assert_not_5xx(response)
    if response.status_code != 202:
        assert response.get_json()["error"]["message"]
        return
    workflows.process_events()
    event = db.session.get(Event, response.get_json()["event"])
    assert event.state in ("done", "failed")
    assert (event.state == "failed") == bool(event.error)
    db.session.delete(event)
    db.session.commit()


@pytest.mark.parametrize(
    ("module", "fields"),
    [
        ("contact", {"language": 5}),
        ("contact", {"timezone": ["x"]}),
        ("contact", {"timezone": "Europe/" + "x" * 300}),
        ("contact", {"timezone": "../../etc/passwd"}),
        ("invoice", {"currency": {"a": 1}}),
        ("contact", {"birthday": 20260101}),
        ("organisation", {"owner": ["x"]}),
        ("contact", {"language": "x" * 5000}),
        ("contact", {"email": ["a@b.c"]}),
        ("invoice", {"lines": [{"quantity": "9" * 5000}]}),
    ],
)
def test_wrong_types_seen_before_name_their_field(admin_api, module, fields):
    record = {"id": "r1", "name": "R", "number": "1", **fields}
    response = admin_api.put(f"/api/v1/records/{module}", json=record)
    assert response.status_code == 422
    assert next(iter(fields)) in response.get_json()["error"]["message"]


def nested(depth):
    return ("[" * depth + "]" * depth).encode()


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeply_nested_json_is_refused_before_parsing(client, admin_api, hook_secret, depth):
    body = b'{"id": "x", "tags": ' + nested(depth) + b"}"
    response = client.post("/hooks/events", data=body, headers=signed_headers(hook_secret, body))
    assert response.status_code == 400 and "nested" in response.get_json()["error"]["message"]
    response = admin_api.put(
        "/api/v1/records/contact", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_json_at_the_depth_limit_is_read(admin_api):
    body = b'{"id": "x", "tags": ' + nested(MAX_JSON_DEPTH - 1) + b"}"
    response = admin_api.put(
        "/api/v1/records/contact", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422  # read, then refused for its content, in words
    assert "tags" in response.get_json()["error"]["message"]


def test_brackets_inside_strings_do_not_count_as_nesting(admin_api):
    response = admin_api.put(
        "/api/v1/records/contact", json={"id": "c1", "first_name": "[" * 90, "notes": "{" * 900}
    )
    assert response.status_code == 201


def test_a_chunked_event_over_the_limit_is_413(client, hook_secret):
    body = b'{"pad": "' + b"x" * (MAX_EVENT_BYTES + 10) + b'"}'
    response = client.post(
        "/hooks/events",
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked", **signed_headers(hook_secret, body)},
        environ_base={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


@pytest.mark.parametrize("timestamp", ["²", "١٢٣", "9" * 5000, " 12 ", "-1", "1e9"])
def test_odd_timestamps_are_401(client, hook_secret, timestamp):
    body = b'{"id": "e1"}'
    response = client.post(
        "/hooks/events", data=body, headers=signed_headers(hook_secret, body, timestamp)
    )
    assert response.status_code == 401


def test_a_non_ascii_signature_is_401(client, hook_secret):
    body = b'{"id": "e1"}'
    headers = signed_headers(hook_secret, body)
    headers["X-Designer-Signature"] = "sha256=" + "é" * 64
    assert client.post("/hooks/events", data=body, headers=headers).status_code == 401


@SETTINGS
@given(email=st.text(max_size=300), password=st.text(max_size=300))
def test_login_answers_any_form_without_a_server_error(app, email, password):
    client = app.test_client()
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )
    assert_not_5xx(response)


@SETTINGS
@given(
    path=st.lists(SEGMENT, min_size=1, max_size=3),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    body=st.binary(max_size=200),
)
def test_the_api_answers_4xx_to_any_path_and_body(admin_api, path, method, body):
    url = "/api/v1/" + "/".join(quoted(part) for part in path)
    response = admin_api.open(
        url, method=method, data=body, headers={"Content-Type": "application/json"}
    )
    assert_not_5xx(response)

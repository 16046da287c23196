"""Who may post events, as an attacker meets it: signed requests of both schemes checked
against each bound (timestamp tolerance, header lengths, how many signatures are read),
signatures moved to another body, timestamp, id or source, replays, and rotation."""

import base64
import hashlib
import hmac
import time
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
import workflow_support

from designer.broker import get_redis
from designer.clock import utcnow
from designer.crypto import encrypt
from designer.extensions import db
from designer.workflows import sources
from designer.workflows.models import HookSource
from designer.workflows.sources import TOLERANCE, BadSignature

BODY = b'{"type": "invoice.created", "id": "evt-1"}'
NOW = 1_800_000_000
OTHER_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()


@pytest.fixture
def crm_secret(app):
    """The secret of a source called "crm" (made without the demo data, for speed)."""
    return sources.add_source("crm")[1]


def standard_headers(secret, *, msg_id="msg_1", timestamp=NOW, body=BODY, signatures=None):
    return workflow_support.standard_headers(secret, msg_id, timestamp, body, signatures)


def our_headers(secret, *, timestamp=NOW, body=BODY):
    return workflow_support.our_headers(secret, timestamp, body)


def refused(headers, body=BODY, now=NOW):
    """The code ``verify`` refuses the request with (it must refuse it)."""
    with pytest.raises(BadSignature) as error:
        sources.verify(headers, body, now=now)
    return error.value.code


def test_each_scheme_accepts_a_timestamp_up_to_the_tolerance_either_side(crm_secret):
    for signed, header in ((standard_headers, "webhook-id"), (our_headers, None)):
        for skew in (-TOLERANCE, TOLERANCE, 0):
            timestamp = NOW + skew
            headers = signed(crm_secret, timestamp=timestamp)
            if header:
                headers[header] = f"msg_{skew}"
                headers["webhook-signature"] = sources.sign_standard(
                    crm_secret, f"msg_{skew}", timestamp, BODY
                )
            assert sources.verify(headers, BODY, now=NOW).source.name == "crm"
        for skew in (-TOLERANCE - 1, TOLERANCE + 1):
            assert refused(signed(crm_secret, timestamp=NOW + skew)) == "stale_timestamp"


def test_a_signature_moved_to_another_body_timestamp_or_id_is_refused(crm_secret):
    good = standard_headers(crm_secret)
    moved = [
        ({**good, "webhook-timestamp": str(NOW + 1)}, BODY),
        ({**good, "webhook-id": "msg_2"}, BODY),
        (good, BODY + b" "),
        (good, BODY.replace(b"evt-1", b"evt-2")),
    ]
    ours = our_headers(crm_secret)
    moved += [({**ours, "X-Designer-Timestamp": str(NOW + 1)}, BODY), (ours, BODY + b" ")]
    for headers, body in moved:
        assert refused(headers, body) == "bad_signature"
    assert sources.verify(good, BODY, now=NOW).event_id == "msg_1"


def test_a_signature_made_with_another_secret_is_refused(crm_secret):
    assert refused(standard_headers(OTHER_SECRET)) == "bad_signature"
    assert refused(our_headers(OTHER_SECRET)) == "bad_signature"
    assert refused(our_headers(crm_secret + "x")) == "bad_signature"


def test_the_source_header_narrows_which_secret_may_sign(crm_secret):
    other, other_secret = sources.add_source("erp")
    verified = sources.verify(standard_headers(other_secret), BODY, now=NOW)
    assert verified.source.id == other.id and verified.scheme == "standard"
    named_wrongly = {**standard_headers(crm_secret, msg_id="msg_x"), "X-Designer-Source": "erp"}
    assert refused(named_wrongly) == "bad_signature"
    named = {**standard_headers(crm_secret, msg_id="msg_y"), "X-Designer-Source": " CRM "}
    assert sources.verify(named, BODY, now=NOW).source.name == "crm"


@pytest.mark.parametrize("position", [0, 9])
def test_one_valid_signature_among_the_first_ten_passes(crm_secret, position):
    good = sources.sign_standard(crm_secret, "msg_1", NOW, BODY)
    wrong = sources.sign_standard(OTHER_SECRET, "msg_1", NOW, BODY)
    listed = [wrong] * 11
    listed[position] = good
    headers = standard_headers(crm_secret, signatures=" ".join(listed))
    assert sources.verify(headers, BODY, now=NOW).source.name == "crm"


def test_an_eleventh_signature_is_not_read(crm_secret):
    good = sources.sign_standard(crm_secret, "msg_1", NOW, BODY)
    wrong = sources.sign_standard(OTHER_SECRET, "msg_1", NOW, BODY)
    headers = standard_headers(crm_secret, signatures=" ".join([wrong] * 10 + [good]))
    assert refused(headers) == "bad_signature"


@pytest.mark.parametrize("version", ["v1a", "v2", "V1", "v1 ", ""])
def test_only_version_one_signatures_count(crm_secret, version):
    mac = sources.sign_standard(crm_secret, "msg_1", NOW, BODY).removeprefix("v1,")
    headers = standard_headers(crm_secret, signatures=f"{version},{mac}")
    assert refused(headers) == "bad_signature"


@pytest.mark.parametrize(
    "value",
    ["", "v1", "v1,", "v1,====", "v1,not base64!", "v1;abc", "v1,YWJj=x", "v1," + "A" * 201],
)
def test_malformed_signature_headers_are_refused(crm_secret, value):
    assert refused(standard_headers(crm_secret, signatures=value or " ")) == "bad_signature"


def test_a_signature_cut_short_or_padded_is_refused(crm_secret):
    mac = base64.b64decode(sources.sign_standard(crm_secret, "msg_1", NOW, BODY)[3:])
    for forged in (mac[:-1], mac + b"\0", mac[:16]):
        signatures = "v1," + base64.b64encode(forged).decode()
        assert refused(standard_headers(crm_secret, signatures=signatures)) == "bad_signature"


@pytest.mark.parametrize(
    ("msg_id", "accepted"),
    [("m", True), ("m" * 200, True), ("m" * 201, False), ("a b", False), ("msg_é", False)],
)
def test_a_webhook_id_is_one_to_two_hundred_printable_characters(crm_secret, msg_id, accepted):
    headers = standard_headers(crm_secret, msg_id=msg_id)
    if accepted:
        assert sources.verify(headers, BODY, now=NOW).event_id == msg_id
    else:
        assert refused(headers) == "bad_id"


@pytest.mark.parametrize("value", ["-1", "1e9", "1800000000.5", "0x6b49d200", "1" * 13, "", "٣"])
def test_a_timestamp_is_unix_seconds_in_digits(crm_secret, value):
    assert refused({**our_headers(crm_secret), "X-Designer-Timestamp": value}) == "bad_timestamp"
    headers = {**standard_headers(crm_secret), "webhook-timestamp": value}
    assert refused(headers) == "bad_timestamp"


def test_a_twelve_digit_timestamp_is_read_and_then_found_stale(crm_secret):
    headers = {**our_headers(crm_secret), "X-Designer-Timestamp": "9" * 12}
    assert refused(headers) == "stale_timestamp"


@pytest.mark.parametrize(
    "value",
    [
        "sha256=" + "a" * 63,
        "sha256=" + "a" * 65,
        "sha1=" + "a" * 64,
        "a" * 64,
        "sha256=" + "g" * 64,
    ],
)
def test_our_signature_header_must_be_sha256_and_sixty_four_hex_digits(crm_secret, value):
    assert refused({**our_headers(crm_secret), "X-Designer-Signature": value}) == "bad_signature"


def test_our_signature_in_capitals_is_the_same_signature(crm_secret):
    headers = our_headers(crm_secret)
    upper = {
        **headers,
        "X-Designer-Signature": "sha256=" + headers["X-Designer-Signature"][7:].upper(),
    }
    assert sources.verify(upper, BODY, now=NOW).scheme == "designer"
    assert refused(headers) == "replayed"


def test_a_designer_signature_header_wins_over_standard_headers(crm_secret):
    both = {**standard_headers(crm_secret), **our_headers(OTHER_SECRET)}
    assert refused(both) == "bad_signature"  # judged by ours, signed with another secret
    both = {**standard_headers(OTHER_SECRET), **our_headers(crm_secret)}
    assert sources.verify(both, BODY, now=NOW).scheme == "designer"


def test_a_replay_is_refused_for_twice_the_tolerance_unless_forgotten(crm_secret):
    headers = standard_headers(crm_secret)
    verified = sources.verify(headers, BODY, now=NOW)
    assert 2 * TOLERANCE - 5 <= get_redis().ttl(verified.seen_key) <= 2 * TOLERANCE
    assert refused(headers) == "replayed"
    padded = {**headers, "webhook-signature": "v1,AAAA " + headers["webhook-signature"]}
    assert refused(padded) == "replayed"
    verified.forget()
    assert sources.verify(headers, BODY, now=NOW).event_id == "msg_1"
    ours = our_headers(crm_secret)
    sources.verify(ours, BODY, now=NOW)
    assert refused(ours) == "replayed"


@pytest.mark.parametrize(
    ("key_bytes", "usable"), [(23, False), (24, True), (32, True), (64, True), (65, False)]
)
def test_standard_secrets_hold_twenty_four_to_sixty_four_bytes(key_bytes, usable):
    key = bytes(range(key_bytes))
    secret = "whsec_" + base64.b64encode(key).decode()
    assert sources.standard_key(secret) == (key if usable else None)


def test_secrets_that_are_not_standard_serve_our_scheme_only(app):
    old = "whsec_" + "A-_" * 15  # a URL-safe token, not base64
    assert sources.standard_key(old) is None
    assert sources.standard_key(base64.b64encode(b"k" * 32).decode()) is None  # no prefix
    source, _ = sources.add_source("legacy")
    source.secret_encrypted = encrypt(old)
    db.session.commit()
    assert not sources.serves_standard(source)
    assert sources.verify(our_headers(old), BODY, now=NOW).source.name == "legacy"
    with pytest.raises(BadSignature, match="no source has a Standard Webhooks secret yet"):
        sources.verify(standard_headers(OTHER_SECRET), BODY, now=NOW)
    key = b"k" * 32
    mac = hmac.new(key, f"msg_1.{NOW}.".encode() + BODY, hashlib.sha256).digest()
    headers = standard_headers(old, signatures="v1," + base64.b64encode(mac).decode())
    with pytest.raises(BadSignature, match="no source has a Standard Webhooks secret yet"):
        sources.verify(headers, BODY, now=NOW)


def test_a_wrong_standard_signature_with_a_standard_source_is_just_wrong(crm_secret):
    with pytest.raises(BadSignature) as error:
        sources.verify(standard_headers(OTHER_SECRET), BODY, now=NOW)
    assert "does not match the body" in str(error.value)


def test_the_previous_secret_works_until_the_moment_the_overlap_ends(crm_secret):
    source = sources.list_sources()[0]
    started = utcnow()
    new = sources.rotate_secret(source, now=started)
    until = started + sources.ROTATION_OVERLAP
    assert source.previous_secret_until == until
    assert sources.secrets_of(source, until - timedelta(seconds=1)) == [new, crm_secret]
    assert sources.secrets_of(source, until) == [new]
    assert sources.rotating(source, until - timedelta(seconds=1))
    assert not sources.rotating(source, until)
    assert sources.verify(standard_headers(crm_secret), BODY, now=NOW).source.id == source.id
    sources.end_rotation(source)
    assert sources.secrets_of(source) == [new]
    db.session.expire_all()
    assert source.previous_secret_encrypted == ""  # the old secret is not kept at all
    assert refused(standard_headers(crm_secret, msg_id="msg_2")) == "bad_signature"


@pytest.mark.parametrize(
    ("name", "accepted"),
    [("a", True), ("a" * 64, True), ("a" * 65, False), ("app", False), ("-crm", False),
     ("crm one", False), (" ERP.Sync_2 ", True), ("", False)],
)  # fmt: skip
def test_a_source_name_is_one_to_sixty_four_safe_characters(app, name, accepted):
    if accepted:
        source, secret = sources.add_source(name)
        assert source.name == name.strip().lower() and sources.standard_key(secret)
    else:
        with pytest.raises(ValueError, match="1 to 64 lower-case letters"):
            sources.add_source(name)


def test_a_source_name_is_taken_once(app):
    sources.add_source("crm")
    with pytest.raises(ValueError, match="exists already"):
        sources.add_source("CRM")
    assert [source.name for source in sources.list_sources()] == ["crm"]


def test_a_deleted_sources_secret_signs_nothing_any_more(crm_secret):
    erp, erp_secret = sources.add_source("erp")
    assert [source.name for source in sources.list_sources()] == ["crm", "erp"]
    assert sources.get_source(erp.id).name == "erp"
    sources.delete_source(erp)
    assert sources.get_source(erp.id) is None
    assert refused(standard_headers(erp_secret)) == "bad_signature"
    assert sources.verify(standard_headers(crm_secret), BODY, now=NOW).source.name == "crm"


def test_a_valid_signature_with_anything_after_its_padding_is_refused(crm_secret):
    good = sources.sign_standard(crm_secret, "msg_1", NOW, BODY)
    assert good.endswith("=")  # 32 bytes: one padding character
    for padded in (good + "AA", good + "x", good + "="):
        assert refused(standard_headers(crm_secret, signatures=padded)) == "bad_signature"


def test_a_signature_that_is_not_base64_does_not_hide_the_ones_after_it(crm_secret):
    good = sources.sign_standard(crm_secret, "msg_1", NOW, BODY)
    headers = standard_headers(crm_secret, signatures=f"v1,abcde v1,YWJj=x {good}")
    assert sources.verify(headers, BODY, now=NOW).source.name == "crm"


def test_a_header_without_any_usable_signature_says_what_it_must_hold(crm_secret):
    with pytest.raises(BadSignature) as error:
        sources.verify(standard_headers(crm_secret, signatures="v1,abcde"), BODY, now=NOW)
    assert str(error.value) == (
        "webhook-signature must hold 'v1,<base64 HMAC-SHA256>' (several may be separated by spaces)"
    )


def test_a_change_made_by_another_process_counts_once_the_version_says_so(crm_secret, monkeypatch):
    """The sources are kept per process: looked at again after a second when the version in
    Redis changed, and kept while it has not (a change made elsewhere bumps it)."""
    ticking = [500.0]
    monkeypatch.setattr(
        sources, "time", SimpleNamespace(monotonic=lambda: ticking[0], time=time.time)
    )
    assert sources.verify(our_headers(crm_secret), BODY, now=NOW).source.name == "crm"
    db.session.execute(HookSource.__table__.delete())  # another process: no event here
    db.session.commit()
    ticking[0] += 0.5  # within a second: not even the version is read
    assert sources.verify(our_headers(crm_secret, timestamp=NOW + 1), BODY, now=NOW)
    ticking[0] += 1.0  # the version read again, unchanged: the copy holds
    assert sources.verify(our_headers(crm_secret, timestamp=NOW + 2), BODY, now=NOW)
    get_redis().set(sources.SOURCES_VERSION_KEY, "bumped by the other process")
    ticking[0] += 1.0
    assert refused(our_headers(crm_secret, timestamp=NOW + 3)) == "bad_signature"


def test_the_decrypted_secrets_kept_stay_within_their_bound(crm_secret, monkeypatch):
    other = sources.add_source("erp")[1]
    monkeypatch.setattr(sources, "_PLAIN", {})
    monkeypatch.setattr(sources, "PLAIN_MAX", 1)
    for timestamp, secret in enumerate((crm_secret, other, crm_secret), start=NOW):
        assert sources.verify(our_headers(secret, timestamp=timestamp), BODY, now=NOW)
        assert len(sources._PLAIN) <= 1


def test_the_previous_secret_signs_nothing_from_the_instant_its_overlap_ends(
    crm_secret, monkeypatch
):
    source = sources.list_sources()[0]
    started = datetime(2026, 3, 1, 12, 0, 0)
    new = sources.rotate_secret(source, now=started)
    until = started + sources.ROTATION_OVERLAP
    monkeypatch.setattr(sources, "utcnow", lambda: until - timedelta(microseconds=1))
    assert sources.verify(our_headers(crm_secret), BODY, now=NOW).source.id == source.id
    monkeypatch.setattr(sources, "utcnow", lambda: until)
    assert refused(our_headers(crm_secret, timestamp=NOW + 1)) == "bad_signature"
    assert sources.verify(our_headers(new, timestamp=NOW + 2), BODY, now=NOW).source.id


def test_a_source_skipped_by_name_does_not_stop_the_next_being_tried(crm_secret):
    sources.add_source("erp")
    zeta, zeta_secret = sources.add_source("zeta")
    named = {**our_headers(zeta_secret), "X-Designer-Source": "zeta"}
    assert sources.verify(named, BODY, now=NOW).source.id == zeta.id


def test_a_secret_two_sources_hold_signs_for_the_first_by_name(app):
    """Which source an event is credited to does not hang on the order rows were added or
    last updated in (PostgreSQL moves an updated row)."""
    zeta, secret = sources.add_source("zeta")
    alpha, _ = sources.add_source("alpha")
    alpha.secret_encrypted = zeta.secret_encrypted  # copied over by hand
    db.session.commit()
    assert sources.verify(our_headers(secret), BODY, now=NOW).source.id == alpha.id
    headers = standard_headers(secret)
    assert sources.verify(headers, BODY, now=NOW).source.id == alpha.id


def test_the_replay_mark_names_the_source_and_the_whole_signature(crm_secret):
    """An operator can find (or delete) the mark of one delivery by the signature it sent."""
    [source] = sources.list_sources()
    headers = our_headers(crm_secret)
    sent = headers["X-Designer-Signature"].upper().replace("SHA256=", "sha256=")
    verified = sources.verify({**headers, "X-Designer-Signature": sent}, BODY, now=NOW)
    hex_digits = headers["X-Designer-Signature"].removeprefix("sha256=")
    assert verified.seen_key == f"designer:hooks:seen:{source.id}:{hex_digits}"
    signed = standard_headers(crm_secret)
    mac = base64.b64decode(signed["webhook-signature"].removeprefix("v1,"))
    verified = sources.verify(signed, BODY, now=NOW)
    assert verified.seen_key == f"designer:hooks:seen:{source.id}:{mac.hex()}"


def test_an_older_secret_with_url_safe_characters_among_base64_is_ours_only(app):
    """Decoders differ on ``-`` and ``_`` (some skip them): such a secret is no Standard
    Webhooks key even when what is left would decode."""
    plain = base64.b64encode(bytes(range(30))).decode()  # 40 characters, no padding
    old = "whsec_" + plain[:10] + "-" + plain[10:20] + "_" + plain[20:] + "-"
    assert sources.standard_key("whsec_" + plain) == bytes(range(30))
    assert sources.standard_key(old) is None
    source, _ = sources.add_source("legacy")
    source.secret_encrypted = encrypt(old)
    db.session.commit()
    assert not sources.serves_standard(source)


@pytest.fixture
def ticking(monkeypatch):
    """The monotonic clock the kept sources are timed by, set by the test."""
    now = [500.0]
    monkeypatch.setattr(sources, "time", SimpleNamespace(monotonic=lambda: now[0], time=time.time))
    return now


def deleted_elsewhere():
    """Every source deleted by another process: no event here, the version left alone."""
    db.session.execute(HookSource.__table__.delete())
    db.session.commit()


def test_the_version_is_read_again_once_a_second_has_passed(crm_secret, ticking):
    assert sources.verify(our_headers(crm_secret), BODY, now=NOW)
    deleted_elsewhere()
    get_redis().set(sources.SOURCES_VERSION_KEY, "bumped by the other process")
    ticking[0] += sources.VERSION_SECONDS - 0.25
    assert sources.verify(our_headers(crm_secret, timestamp=NOW + 1), BODY, now=NOW)
    ticking[0] += 0.25  # a second exactly since the sources were loaded
    assert refused(our_headers(crm_secret, timestamp=NOW + 2)) == "bad_signature"


def test_the_sources_are_loaded_again_after_thirty_seconds_whatever_the_version(
    crm_secret, ticking
):
    assert sources.verify(our_headers(crm_secret), BODY, now=NOW)
    deleted_elsewhere()
    ticking[0] += sources.SIGNERS_SECONDS - 1.5  # the version read, unchanged: kept
    assert sources.verify(our_headers(crm_secret, timestamp=NOW + 1), BODY, now=NOW)
    ticking[0] += 1.5  # thirty seconds exactly since they were loaded: the version read
    assert refused(our_headers(crm_secret, timestamp=NOW + 2)) == "bad_signature"


def test_thirty_seconds_hold_even_when_the_version_was_read_a_moment_before(crm_secret, ticking):
    """A look at the version half a second before the thirty seconds end does not keep
    the sources for another second past them."""
    assert sources.verify(our_headers(crm_secret), BODY, now=NOW)
    deleted_elsewhere()
    ticking[0] += sources.SIGNERS_SECONDS - 0.5  # the version read, unchanged: kept
    assert sources.verify(our_headers(crm_secret, timestamp=NOW + 1), BODY, now=NOW)
    ticking[0] += 0.5  # thirty seconds since they were loaded, half a second since the look
    assert refused(our_headers(crm_secret, timestamp=NOW + 2)) == "bad_signature"


def test_a_source_still_there_after_thirty_seconds_is_loaded_again_and_verifies(
    crm_secret, ticking
):
    assert sources.verify(our_headers(crm_secret), BODY, now=NOW)
    ticking[0] += sources.SIGNERS_SECONDS - 0.5
    assert sources.verify(our_headers(crm_secret, timestamp=NOW + 1), BODY, now=NOW)
    ticking[0] += 0.5
    assert sources.verify(our_headers(crm_secret, timestamp=NOW + 2), BODY, now=NOW)


def test_after_a_look_at_the_version_the_next_waits_a_second(crm_secret, ticking):
    """One Redis round trip a second at most: a look restarts the second."""
    assert sources.verify(our_headers(crm_secret), BODY, now=NOW)
    ticking[0] += 1.5  # the version looked at, unchanged: kept
    assert sources.verify(our_headers(crm_secret, timestamp=NOW + 1), BODY, now=NOW)
    deleted_elsewhere()
    get_redis().set(sources.SOURCES_VERSION_KEY, "bumped by the other process")
    ticking[0] += 0.5  # half a second since the look: the version is not read
    assert sources.verify(our_headers(crm_secret, timestamp=NOW + 2), BODY, now=NOW)
    ticking[0] += 0.5  # a second since the look: read, changed, the sources loaded again
    assert refused(our_headers(crm_secret, timestamp=NOW + 3)) == "bad_signature"

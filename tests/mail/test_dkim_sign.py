"""DKIM signatures as receivers judge them: RSA and Ed25519 signatures over messages with
folded headers, odd whitespace and odd bodies verify with dkimpy and (RSA: Debian 12's
Mail::DKIM has no Ed25519) Perl's Mail::DKIM; a changed body or signed header fails.

Relaxed canonicalisation (the only one signed) tolerates what relays do to whitespace,
nothing else."""

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from dkim_verifiers import HAS_MAIL_DKIM, dkimpy_verifies, perl_verdict

from designer.mail import dkim_sign

DNS_NAME = "sel._domainkey.example.com"
SIGNED_NAMES = [b"from", b"to", b"subject", b"date", b"message-id", b"x-tag"]
HEAD = (
    b"From: Ada <ada@example.com>\r\n"
    b"To: jan@example.org\r\n"
    b"Subject:  A\tsubject   with  runs\r\n"
    b"\t of whitespace,\r\n  folded twice  \r\n"
    b"Date: Thu, 03 Dec 2026 15:00:00 +0000\r\n"
    b"Message-ID: <1@example.com>\r\n"
    b"X-Tag: first\r\n"
    b"X-Tag: last\r\n"
    b"X-Unsigned: anything\r\n"
)
BODY = b"Hello  Jan,\r\n\r\n\tthe\t invoice \r\nis attached.   \r\n\r\n\r\n"


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ed_key():
    return ed25519.Ed25519PrivateKey.generate()


KEYS = {"rsa": rsa_key(), "ed25519": ed_key()}


def record(private_key):
    """The TXT record that publishes ``private_key``'s public half."""
    public = private_key.public_key()
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def signed(raw, key, names=SIGNED_NAMES, **options):
    field = dkim_sign.sign(
        raw, domain="example.com", selector="sel", private_key=key, names=names, **options
    )
    return field + raw


def verdicts(raw, key):
    """``(dkimpy, Mail::DKIM)``: True/False each (None where Mail::DKIM cannot tell)."""
    by_dkimpy = bool(dkimpy_verifies(raw, {DNS_NAME: record(key)}))
    if isinstance(key, ed25519.Ed25519PrivateKey) or not HAS_MAIL_DKIM:
        return by_dkimpy, None
    return by_dkimpy, perl_verdict(raw, record(key)) == "pass"


def passes(raw, key):
    return all(verdict is not False for verdict in verdicts(raw, key)) and verdicts(raw, key)[0]


def fails(raw, key):
    return not any(verdicts(raw, key))


def tag(field, name):
    unfolded = re.sub(rb"\s+", b"", field.split(b"\r\n\r\n")[0].split(b"From:")[0])
    return re.search(rb";" + name + rb"=([^;]*)", unfolded).group(1)


@pytest.mark.parametrize("kind", KEYS)
def test_a_message_with_folded_headers_and_odd_whitespace_verifies(kind):
    key = KEYS[kind]
    message = signed(HEAD + b"\r\n" + BODY, key)
    assert passes(message, key)
    assert tag(message, b"a") == (b"rsa-sha256" if kind == "rsa" else b"ed25519-sha256")
    assert tag(message, b"c") == b"relaxed/relaxed"
    assert tag(message, b"d") == b"example.com" and tag(message, b"s") == b"sel"


@pytest.mark.parametrize("kind", KEYS)
@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"invoice", b"lnvoice"),  # a letter of the body
        (b"is attached.", b"is attached!"),
        (b"\r\n\r\nHello", b"\r\n\r\nHello!"),
        (b"Subject:  A", b"Subject:  B"),  # a signed header
        (b"To: jan@", b"To: eve@"),
        (b"folded twice", b"folded twise"),  # on a folded line
        (b"X-Tag: last", b"X-Tag: lost"),  # the last of a name is the one signed
        (b"Date: Thu, 03", b"Date: Thu, 04"),
    ],
)
def test_a_changed_body_or_signed_header_fails_both_verifiers(kind, old, new):
    key = KEYS[kind]
    message = signed(HEAD + b"\r\n" + BODY, key)
    assert passes(message, key)
    assert fails(message.replace(old, new, 1), key)


@pytest.mark.parametrize("kind", KEYS)
@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"Hello  Jan", b"Hello Jan"),  # whitespace runs in the body
        (b"\tthe\t invoice", b" the invoice"),
        (b"attached.   \r\n", b"attached.\r\n"),  # trailing whitespace of a line
        (b"\r\n\r\n\r\n", b"\r\n"),  # empty lines at the end
        (b"Subject:  A\tsubject", b"Subject: A subject"),  # whitespace in a header
        (b"X-Tag: first", b"X-Tag: changed"),  # an earlier field of a signed name
        (b"X-Unsigned: anything", b"X-Unsigned: something else"),  # an unsigned header
        (b"From: Ada", b"FROM: Ada"),  # the name of a header, in capitals
        (b"To: jan@example.org", b"To:\r\n jan@example.org"),  # refolded
    ],
)
def test_what_relays_may_do_to_whitespace_still_verifies(kind, old, new):
    key = KEYS[kind]
    message = signed(HEAD + b"\r\n" + BODY, key)
    assert old in message
    assert passes(message.replace(old, new, 1), key)


@pytest.mark.parametrize("kind", KEYS)
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\r\n",
        b"\r\n\r\n",
        b"x",
        b"x\r\n",
        b" \r\n",
        b"trailing spaces, no line end   ",
        b"trailing tab\t\r\n",
        b"  \t  \r\nx\r\n \r\n",
        b"a" * 2000 + b"    " * 500 + b"\r\n",
        # a text part's centring: one run of hundreds of spaces, mixed with tabs
        b"Hi\r\n" + b" " * 163 + b"Read \t  \t article 1 <https://x.example/>\r\n\t \r\n",
    ],
)
def test_odd_bodies_verify_with_both_verifiers(kind, body):
    key = KEYS[kind]
    message = signed(HEAD + b"\r\n" + body, key)
    wire = message if message.endswith(b"\r\n") or not body else message + b"\r\n"
    assert passes(wire, key)


def test_the_body_hash_is_the_relaxed_bodys_sha256():
    empty = base64.b64encode(hashlib.sha256(b"").digest())
    line = base64.b64encode(hashlib.sha256(b"a b\r\n").digest())
    key = KEYS["ed25519"]
    for body, expected in ((b"", empty), (b"\r\n\r\n", empty), (b"a \t b \r\n\r\n", line)):
        assert tag(signed(HEAD + b"\r\n" + body, key), b"bh") == expected, body
    assert tag(signed(HEAD.rstrip(b"\r\n"), key), b"bh") == empty  # no body at all


def test_the_h_list_names_the_headers_the_message_has_in_the_order_given():
    key = KEYS["ed25519"]
    names = [b"subject", b"reply-to", b"from", b"x-tag", b"cc", b"to"]
    message = signed(HEAD + b"\r\n" + BODY, key, names=names)
    assert tag(message, b"h") == b"subject:from:x-tag:to"
    assert passes(message, key)
    # a header the signature leaves out can be added; one it lists cannot change
    assert passes(message.replace(b"X-Unsigned:", b"Reply-To: eve@evil.example\r\nX-U:", 1), key)
    assert fails(message.replace(b"Subject:  A", b"Subject:  Z", 1), key)


def test_an_added_header_of_a_signed_name_below_the_signed_one_fails():
    key = KEYS["rsa"]
    message = signed(HEAD + b"\r\n" + BODY, key)
    assert fails(message.replace(b"X-Unsigned:", b"X-Tag: injected\r\nX-Unsigned:", 1), key)


def test_the_timestamp_is_the_one_given_or_now():
    key = KEYS["ed25519"]
    assert tag(signed(HEAD + b"\r\n" + BODY, key, timestamp=1_800_000_000), b"t") == b"1800000000"
    import time

    before = int(time.time())
    stamped = int(tag(signed(HEAD + b"\r\n" + BODY, key), b"t"))
    assert before <= stamped <= int(time.time())


def test_the_signature_field_is_folded_in_short_crlf_lines():
    key = KEYS["rsa"]
    field = dkim_sign.sign(
        HEAD + b"\r\n" + BODY, domain="example.com", selector="sel", private_key=key,
        names=SIGNED_NAMES,
    )  # fmt: skip
    assert field.startswith(b"DKIM-Signature: v=1; ") and field.endswith(b"\r\n")
    lines = field[:-2].split(b"\r\n")
    assert b"\n" not in field.replace(b"\r\n", b"")
    assert all(line[:1] == b" " for line in lines[1:])
    assert max(len(line) for line in lines) <= 78  # RFC 5322's recommended line length
    assert len(lines) >= 8  # a 2048-bit signature is 344 characters of base64


def test_canonical_header_unfolds_and_squeezes_whitespace():
    assert dkim_sign.canonical_header(b" Subject ", b"  a\t\tb \r\n\t c  ") == b"subject:a b c\r\n"
    assert dkim_sign.canonical_header(b"X", b"") == b"x:\r\n"


def test_split_message_keeps_folded_lines_with_their_field():
    fields, body = dkim_sign.split_message(b"A: 1\r\n 2\r\nB:3\r\n\tfour\r\nno colon\r\n\r\nbody")
    assert fields == [(b"A", b" 1\r\n 2"), (b"B", b"3\r\n\tfour")]
    assert body == b"body"
    assert dkim_sign.split_message(b"A: 1") == ([(b"A", b" 1")], b"")

"""Bounce parsing: real report formats, hard/soft classification, and no exception on junk."""

import base64
import dataclasses
import random
from pathlib import Path

import pytest

from designer.mail.dsn import Bounce, Failure, parse_bounce

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dsn"


def fixture(name, crlf=False):
    raw = (FIXTURES / name).read_bytes()
    return raw.replace(b"\n", b"\r\n") if crlf else raw


def verp(token):
    return (f"bounces+{token}@designer.example",)


# (fixture, [(address, action, status, hard)], original Message-ID, to_addresses, reporting MTA)
EXPECTED = [
    (
        "postfix-hard.eml",
        [("jan.novak@example.org", "failed", "5.1.1", True)],
        "49be7c69e236611513c971d674b584.4182@designer.example",
        verp("qpuvv254i93j665wbm6kel"),
        "smtp.designer.example",
    ),
    (
        "postfix-delayed.eml",
        [("eva.kralova@example.net", "delayed", "4.4.1", False)],
        "09d13fe5b9c160ea99e97e514dd353.4190@designer.example",
        verp("2z03iee8h716ctmn4kj8yh"),
        "smtp.designer.example",
    ),
    (
        "postfix-multi.eml",
        [
            ("petr.dvorak@example.com", "failed", "5.1.1", True),
            ("lucie.cerna@example.info", "failed", "5.7.1", False),
        ],
        "80c2af1b591b97376449e56a1ae3e3.4211@designer.example",
        verp("jcu1vlefif7jy83ve0x5bq"),
        "smtp.designer.example",
    ),
    (
        "exchange-hard.eml",
        [("martin.horak@contoso.example", "failed", "5.1.10", True)],
        "202d4ed659bdc698172994e9905179.4233@designer.example",
        verp("1gjia6obo0jsjli7bjayd5"),
        "AM6PR04MB5432.eurprd04.prod.outlook.com",
    ),
    (
        "gmail-hard.eml",
        [("m.horakova@example.net", "failed", "5.1.1", True)],
        "e91d60d74a813fcd54e7de06819926.4260@designer.example",
        verp("sdpz5klgglno6gdkfz2408"),
        "googlemail.com",
    ),
    (
        "gmail-mailbox-full.eml",
        [("tomas.bartos@example.net", "failed", "5.2.2", False)],
        "af64197e7a0e7f56cbc4002c56b645.4265@designer.example",
        verp("xtnpwhd6ob1pxs9z6ds6tb"),
        "googlemail.com",
    ),
    (
        "qmail-hard.eml",
        [("ondrej.maly@example.com", "failed", "5.1.1", True)],
        "4c7e1a9b3d5f2e8c6a0b4d7f1e3a5c.4318@designer.example",
        verp("0w3e5r7t9y1u3i5o7p9a2s"),
        "",
    ),
]


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize(
    ("name", "recipients", "message_id", "to_addresses", "mta"),
    EXPECTED,
    ids=[row[0] for row in EXPECTED],
)
def test_real_bounces(name, recipients, message_id, to_addresses, mta, crlf):
    bounce = parse_bounce(fixture(name, crlf))
    assert isinstance(bounce, Bounce)
    assert [(f.address, f.action, f.status, f.hard) for f in bounce.recipients] == recipients
    assert bounce.original_message_id == message_id
    assert bounce.to_addresses == to_addresses
    assert bounce.reporting_mta == mta
    for failure in bounce.recipients:
        assert failure.diagnostic
        assert "\n" not in failure.diagnostic and "  " not in failure.diagnostic


@pytest.mark.parametrize("name", ["out-of-office.eml", "read-receipt.eml"])
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_not_a_bounce(name, crlf):
    assert parse_bounce(fixture(name, crlf)) is None


def test_diagnostics_are_unfolded_without_their_type():
    postfix = parse_bounce(fixture("postfix-hard.eml")).recipients[0]
    assert postfix.diagnostic == (
        "550 5.1.1 <jan.novak@example.org>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )
    delayed = parse_bounce(fixture("postfix-delayed.eml")).recipients[0]
    assert delayed.diagnostic == (
        "connect to mail.example.net[203.0.113.80]:25: Connection timed out"
    )
    gmail = parse_bounce(fixture("gmail-hard.eml")).recipients[0]
    assert gmail.diagnostic.startswith(
        "550-5.1.1 The email account that you tried to reach "
        "does not exist. Please try 550-5.1.1 double-checking"
    )
    exchange = parse_bounce(fixture("exchange-hard.eml")).recipients[0]
    assert "RESOLVER.ADR.RecipientNotFound" in exchange.diagnostic


def test_bounce_and_failure_are_frozen():
    bounce = parse_bounce(fixture("postfix-hard.eml"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        bounce.original_message_id = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        bounce.recipients[0].hard = False
    assert isinstance(bounce.recipients, tuple) and isinstance(bounce.recipients[0], Failure)


# Synthetic reports: classification and the shapes the stdlib parser gives


def report(
    status_text,
    *,
    part_headers="Content-Type: message/delivery-status\n",
    returned="Message-ID: <orig.1@designer.example>\nSubject: Hello\n",
    top="",
):
    """A minimal multipart/report around ``status_text`` (LF line ends)."""
    raw = (
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n"
        "To: bounces+k7q2m9x4t1v8c3n6b5z0wd@designer.example\n" + top + "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        f"--B\n{part_headers}\n{status_text}\n"
        f"--B\nContent-Type: text/rfc822-headers\n\n{returned}\n--B--\n"
    )
    return raw.encode()


def recipient(
    action="failed",
    status="5.1.1",
    diagnostic="smtp; 550 5.1.1 User unknown",
    address="Someone@Example.org",
):
    lines = [f"Final-Recipient: rfc822; {address}"]
    lines += [f"Action: {action}"] if action else []
    lines += [f"Status: {status}"] if status else []
    lines += [f"Diagnostic-Code: {diagnostic}"] if diagnostic else []
    return "\n".join(lines) + "\n"


def one(status_text, **kwargs):
    bounce = parse_bounce(report(status_text, **kwargs))
    assert bounce is not None and len(bounce.recipients) == 1
    return bounce.recipients[0]


@pytest.mark.parametrize(
    ("action", "status", "diagnostic", "hard"),
    [
        ("failed", "5.1.1", "smtp; 550 5.1.1 User unknown", True),
        ("failed", "5.1.2", "smtp; 550 5.1.2 Host unknown", True),
        ("failed", "5.1.10", "smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound", True),
        ("failed", "5.2.1", "smtp; 550 5.2.1 The email account is disabled", True),
        ("failed", "5.4.4", "X-Postfix; Host or domain name not found", True),
        ("failed", "5.0.0", "smtp; 550 Requested action not taken", True),
        ("failed", "5.2.0", "smtp; 550 5.2.0 Mailbox unavailable", False),
        ("failed", "5.2.2", "smtp; 552 5.2.2 Mailbox full", False),
        ("failed", "5.2.3", "smtp; 552 5.2.3 Message too large", False),
        ("failed", "5.3.4", "smtp; 552 5.3.4 Message size exceeds fixed limit", False),
        ("failed", "5.4.7", "X-Postfix; delivery time expired", False),
        ("failed", "5.6.0", "smtp; 554 5.6.0 Message content rejected", False),
        ("failed", "5.7.1", "smtp; 554 5.7.1 Rejected as spam", False),
        ("failed", "5.7.26", "smtp; 550 5.7.26 Unauthenticated email is not accepted", False),
        ("failed", "4.4.1", "X-Postfix; connect to mx.example.org: Connection timed out", False),
        ("delayed", "4.2.2", "smtp; 452 4.2.2 Over quota", False),
        ("delayed", "5.1.1", "smtp; 550 5.1.1 odd but delayed", False),
        ("failed", "", "", True),
    ],
)
def test_hard_or_soft(action, status, diagnostic, hard):
    failure = one(recipient(action, status, diagnostic))
    assert (failure.address, failure.action, failure.status, failure.hard) == (
        "someone@example.org",
        action,
        status,
        hard,
    )


def test_undefined_status_takes_the_specific_code_of_the_diagnostic():
    failure = one(recipient(status="5.0.0", diagnostic="smtp; 552 5.2.2 Mailbox full"))
    assert (failure.status, failure.hard) == ("5.2.2", False)


def test_status_and_action_missing_are_filled_from_the_diagnostic():
    failure = one(recipient(action="", status="", diagnostic="smtp; 550 5.1.1 No such user"))
    assert (failure.action, failure.status, failure.hard) == ("failed", "5.1.1", True)


def test_a_success_report_is_not_a_bounce():
    text = "Reporting-MTA: dns; mx.example.org\n\n" + recipient("delivered", "2.0.0", "")
    assert parse_bounce(report(text)) is None


def test_recipient_without_any_address_is_left_out():
    text = recipient(address="not an address") + "\n" + recipient(address="b@example.org")
    assert [f.address for f in parse_bounce(report(text)).recipients] == ["b@example.org"]


def test_blocks_run_together_still_give_every_recipient():
    text = (
        "Reporting-MTA: dns; mx.example.org\n"
        + recipient(address="a@example.org")
        + recipient("delayed", "4.2.2", "", address="b@example.org")
    )
    bounce = parse_bounce(report(text))
    assert [(f.address, f.action) for f in bounce.recipients] == [
        ("a@example.org", "failed"),
        ("b@example.org", "delayed"),
    ]
    assert bounce.reporting_mta == "mx.example.org"


def test_extra_blank_lines_between_blocks():
    text = "\nReporting-MTA: dns; mx.example.org\n\n\n\n" + recipient() + "\n\n"
    assert one(text).status == "5.1.1"


def test_base64_status_part():
    text = "Reporting-MTA: dns; mx.example.org\r\n\r\n" + recipient().replace("\n", "\r\n")
    encoded = base64.encodebytes(text.encode()).decode()
    failure = one(
        encoded,
        part_headers="Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n",
    )
    assert (failure.address, failure.status, failure.hard) == ("someone@example.org", "5.1.1", True)


def test_global_delivery_status_part():
    text = "Reporting-MTA: dns; mx.example.org\n\n" + recipient(address="jirí@example.org").replace(
        "rfc822;", "utf-8;"
    )
    bounce = parse_bounce(
        report(text, part_headers="Content-Type: message/global-delivery-status\n")
    )
    assert [f.address for f in bounce.recipients] == ["jirí@example.org"]


def test_message_id_falls_back_to_the_report_then_in_reply_to():
    text = (
        "Reporting-MTA: dns; googlemail.com\n"
        "X-Original-Message-ID: <from-report@designer.example>\n\n" + recipient()
    )
    bounce = parse_bounce(report(text, returned="Subject: no id here\n"))
    assert bounce.original_message_id == "from-report@designer.example"
    bounce = parse_bounce(
        report(
            recipient(),
            returned="Subject: no id here\n",
            top="In-Reply-To: <replied@designer.example>\n",
        )
    )
    assert bounce.original_message_id == "replied@designer.example"
    assert parse_bounce(report(recipient(), returned="")).original_message_id == ""


def test_to_addresses_from_every_envelope_header():
    top = (
        "Delivered-To: Bounces+K7Q2M9X4T1V8C3N6B5Z0WD@Designer.Example\n"
        "X-Original-To: bounces+k7q2m9x4t1v8c3n6b5z0wd@designer.example\n"
        "Envelope-To: catchall@designer.example\n"
    )
    bounce = parse_bounce(report(recipient(), top=top))
    assert bounce.to_addresses == (
        "bounces+k7q2m9x4t1v8c3n6b5z0wd@designer.example",
        "catchall@designer.example",
    )


def test_exim_style_plain_bounce_with_x_failed_recipients():
    raw = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
        b"To: bounces+k7q2m9x4t1v8c3n6b5z0wd@designer.example\n"
        b"Subject: Mail delivery failed: returning message to sender\n"
        b"X-Failed-Recipients: Anna@example.org, bob@example.org\n\n"
        b"This message was created automatically by mail delivery software.\n\n"
        b"A message that you sent could not be delivered to one or more of its\n"
        b"recipients. This is a permanent error. The following address(es) failed:\n\n"
        b"  anna@example.org\n"
        b"    host mx.example.org [198.51.100.5]\n"
        b"    SMTP error from remote mail server after RCPT TO:<anna@example.org>:\n"
        b"    550 5.1.1 <anna@example.org>: Recipient address rejected: User unknown\n"
        b"  bob@example.org\n"
        b"    host mx.example.org [198.51.100.5]\n"
        b"    SMTP error from remote mail server after end of data:\n"
        b"    552 5.2.2 Mailbox full\n\n"
        b"------ This is a copy of the message, including all the headers. ------\n\n"
        b"Message-ID: <exim.1@designer.example>\nSubject: Hello\n\nHi\n"
    )
    bounce = parse_bounce(raw)
    assert [(f.address, f.status, f.hard) for f in bounce.recipients] == [
        ("anna@example.org", "5.1.1", True),
        ("bob@example.org", "5.2.2", False),
    ]
    assert bounce.original_message_id == "exim.1@designer.example"


def test_ordinary_mail_is_not_a_bounce():
    raw = (
        b"From: Jan Novak <jan.novak@example.org>\nTo: ada@designer.example\n"
        b"Subject: Re: Spring news\nMessage-ID: <reply.1@example.org>\n"
        b"In-Reply-To: <orig.1@designer.example>\n\n"
        b"Thanks! Final-Recipient: rfc822; nobody@example.org\nStatus: 5.1.1\n"
    )
    assert parse_bounce(raw) is None


# Malformed input: never an exception


def truncations():
    for path in sorted(FIXTURES.glob("*.eml")):
        raw = path.read_bytes()
        for cut in range(0, len(raw), 97):
            yield raw[:cut]


def nested(depth):
    chunks = [b"From: a@example.org\n"]
    for level in range(depth):
        chunks.append(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (level, level))
    return b"".join(chunks)


MALFORMED = {
    "empty": b"",
    "newlines": b"\r\n" * 100,
    "nul bytes": b"\x00" * 4096,
    "random bytes": random.Random(3464).randbytes(20000),
    "headers only": b"From: MAILER-DAEMON@x\nContent-Type: multipart/report",
    "report without status part": report(recipient()).replace(
        b"message/delivery-status", b"text/plain"
    ),
    "report without boundary": (
        b"From: MAILER-DAEMON@x\nContent-Type: multipart/report; "
        b"report-type=delivery-status\n\n--B\n" + recipient().encode()
    ),
    "empty status part": report(""),
    "bad base64 status": report(
        "!!!*** not base64 ===",
        part_headers=("Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n"),
    ),
    "unknown charset": report(recipient()).replace(
        b"Content-Type: text/plain", b"Content-Type: text/plain; charset=x-nope"
    ),
    "8-bit junk in fields": report(recipient()).replace(b"User unknown", b"\xff\xfe\xc3(\x80"),
    "huge header": b"Subject: " + b"a" * 5_000_000 + b"\n\nbody",
    "huge folded header": b"X-Failed-Recipients: a@example.org\nSubject: x" + b"\n y" * 200_000,
    "huge diagnostic": report(recipient(diagnostic="smtp; 550 " + "<x> " * 500_000)),
    "huge recipient": report(recipient(address="a" * 1_000_000 + "@example.org")),
    "deep nesting": nested(3000),
    "deep attached messages": b"Content-Type: message/rfc822\n\n" * 3000,
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_never_raises(raw):
    result = parse_bounce(raw)
    assert result is None or isinstance(result, Bounce)


def test_huge_diagnostic_is_trimmed():
    failure = one(recipient(diagnostic="smtp; 550 5.1.1 " + "no such user " * 10_000))
    assert len(failure.diagnostic) <= 500 and failure.status == "5.1.1"


def test_truncated_bounces_never_raise():
    for raw in truncations():
        result = parse_bounce(raw)
        assert result is None or isinstance(result, Bounce)


@pytest.mark.parametrize("value", [None, "From: a@b\n\nhi", 42, bytearray(b"")])
def test_not_bytes(value):
    assert parse_bounce(value) is None


def test_bytearray_and_memoryview_are_read():
    raw = fixture("postfix-hard.eml")
    assert parse_bounce(bytearray(raw)) == parse_bounce(memoryview(raw)) == parse_bounce(raw)

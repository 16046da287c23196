"""MIME building: CRLF, short lines, no header injection from merge values."""

from email import message_from_bytes, policy

import pytest

from designer.mail.mime import build_mime, clean_header
from designer.mail.sender import Sender
from designer.templating import RenderedEmail

SENDER = Sender(
    user_id=1,
    name="Ada Admin",
    address="ada@example.com",
    reply_to="",
    envelope_from="ada@example.com",
    language="en",
)


def build(subject="Hello", to_name="Jan", html=None, text="Hello\r\n", eight_bit=False):
    html = html or "<html><body><p>" + "x" * 5000 + "</p></body></html>"
    rendered = RenderedEmail(subject=subject, html=html, text=text, locale="en")
    return build_mime(
        rendered,
        sender=SENDER,
        to_name=to_name,
        to_address="jan@example.com",
        message_id="<1@example.com>",
        eight_bit=eight_bit,
    )


def headers_of(raw):
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0] for line in head.split(b"\r\n") if line[:1] not in b" \t"]


def test_multipart_alternative_with_crlf_and_short_lines():
    raw = build()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize(
    ("html", "eight_bit", "encoding"),
    [
        ("<p>short ascii</p>", False, "7bit"),
        ("<p>Grüße</p>", True, "8bit"),
        ("<p>Grüße</p>", False, "base64"),
        ("<p>" + "y" * 2000 + "</p>", True, "base64"),
    ],
)
def test_body_encoding_keeps_lines_short_and_text_intact(html, eight_bit, encoding):
    raw = build(html=html, text="Grüße\r\n", eight_bit=eight_bit)
    parsed = message_from_bytes(raw, policy=policy.default)
    part = parsed.get_body(("html",))
    assert part["Content-Transfer-Encoding"] == encoding
    assert part.get_content().strip() == html
    assert parsed.get_body(("plain",)).get_content().strip() == "Grüße"
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_non_ascii_subject_and_names_are_encoded_words():
    raw = build(subject="Grüße aus Köln, Zoë", to_name="Zoë Müller")
    assert raw.isascii() or b"8bit" in raw
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Grüße aus Köln, Zoë"
    assert parsed["To"].addresses[0].display_name == "Zoë Müller"


@pytest.mark.parametrize(
    "evil",
    [
        "Ann\r\nBcc: x@evil.test",
        "Ann\nBcc: x@evil.test",
        "Ann\rBcc: x@evil.test",
        "Ann\u2028Bcc: x@evil.test",
        "=?UTF-8?Q?Ann=0ABcc:_x@evil.test?=",
        "=?UTF-8?B?QW5uDQpCY2M6IHhAZXZpbC50ZXN0?=",
    ],
)
def test_merge_values_cannot_add_headers(evil):
    raw = build(subject=f"Hi {evil}", to_name=evil)
    names = [name.lower() for name in headers_of(raw)]
    assert b"bcc" not in names
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None
    assert len(parsed.get_all("To")) == 1 and len(parsed.get_all("Subject")) == 1
    assert "\n" not in str(parsed["Subject"]) and "\n" not in str(parsed["To"])


def test_clean_header_folds_every_line_break_into_a_space():
    assert clean_header("a\r\nb\u2029c") == "a b c"


def test_attachments_make_a_mixed_message():
    rendered = RenderedEmail(subject="Invoice", html="<p>Hi</p>", text="Hi\r\n", locale="en")
    raw = build_mime(
        rendered,
        sender=SENDER,
        to_name="Jan",
        to_address="jan@example.com",
        message_id="<2@example.com>",
        attachments=[("Invoice-2026-0042.pdf", "application/pdf", b"%PDF-1.7 x")],
    )
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "Invoice-2026-0042.pdf"
    assert attachment.get_content() == b"%PDF-1.7 x"

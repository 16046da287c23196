"""MIME building: CRLF, short lines, no header injection from merge values."""

from email import message_from_bytes, policy

import pytest

from designer.mail.mime import build_mime, clean_header
from designer.mail.sender import Sender
from designer.templating import RenderedEmail

SENDER = Sender(user_id=1, name="Ada Admin", address="ada@example.com", reply_to="",
                envelope_from="ada@example.com", language="en")


def build(subject="Hello", to_name="Jan", html=None, preheader=""):
    html = html or "<html><body><p>" + "x" * 5000 + "</p></body></html>"
    rendered = RenderedEmail(subject=subject, preheader=preheader, html=html,
                             text="Hello\n", locale="en")
    return build_mime(rendered, sender=SENDER, to_name=to_name, to_address="jan@example.com",
                      message_id="<1@example.com>", pixel_url="http://designer.test/o/tok.gif")


def headers_of(raw):
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0] for line in head.split(b"\r\n") if line[:1] not in b" \t"]


def test_multipart_alternative_with_crlf_and_short_lines():
    raw = build()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_pixel_goes_at_the_end_of_the_body():
    parsed = message_from_bytes(build(), policy=policy.default)
    html = parsed.get_body(("html",)).get_content()
    assert html.index("http://designer.test/o/tok.gif") < html.index("</body>")


@pytest.mark.parametrize("evil", [
    "Ann\r\nBcc: x@evil.test",
    "Ann\nBcc: x@evil.test",
    "Ann\rBcc: x@evil.test",
    "Ann\u2028Bcc: x@evil.test",
    "=?UTF-8?Q?Ann=0ABcc:_x@evil.test?=",
    "=?UTF-8?B?QW5uDQpCY2M6IHhAZXZpbC50ZXN0?=",
])
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


def test_preheader_is_hidden_text_after_body():
    parsed = message_from_bytes(build(preheader="Spring <sale>"), policy=policy.default)
    html = parsed.get_body(("html",)).get_content()
    assert "display:none" in html and "Spring &lt;sale&gt;" in html

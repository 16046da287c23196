"""End to end with real parts: import, send through a real RQ worker, SMTP, pixel, page."""

import re
from urllib.parse import urlsplit

from support import log_in, run_designer

from designer.extensions import db
from designer.records import Contact

MJML = """<mjml>
  <mj-head>
    <mj-title>{{ contact.first_name }}, your account at {{ organisation.name }}</mj-title>
  </mj-head>
  <mj-body>
    <mj-section><mj-column>
      <mj-text>Dear {{ contact.first_name }} {{ contact.last_name }},</mj-text>
      <mj-text>Your organisation {{ organisation.name }} in {{ organisation.city }}.</mj-text>
      <mj-text>Kind regards, {{ sender.name }}</mj-text>
    </mj-column></mj-section>
  </mj-body>
</mjml>
"""


def test_import_send_receive_open_twice_and_see_2(
    app, client, demo, smtp_server, run_worker_burst, tmp_path
):
    app.config["SMTP_URL"] = smtp_server.url
    contact = db.session.scalars(db.select(Contact).where(Contact.language == "nl")).first()
    path = tmp_path / "account.mjml"
    path.write_text(MJML)

    imported = run_designer(app, "template", "import", str(path))
    assert imported.returncode == 0, imported.stderr
    sent = run_designer(app, "send", imported.stdout.strip(), "--to", f"contact:{contact.id}")
    assert sent.returncode == 0, sent.stderr
    run_worker_burst()

    [received] = smtp_server.handler.messages()
    assert received.get_content_type() == "multipart/alternative"
    assert received["Subject"] == (
        f"{contact.first_name}, your account at {contact.organisation.name}"
    )
    assert received["To"].addresses[0].addr_spec == contact.email
    html = " ".join(received.get_body(("html",)).get_content().split())
    text = received.get_body(("plain",)).get_content()
    assert f"Dear {contact.first_name} {contact.last_name}," in html
    assert f"Dear {contact.first_name} {contact.last_name}," in text
    assert f"{contact.organisation.name} in {contact.organisation.city}" in html

    pixel = re.search(r'<img src="(http://designer\.test/o/[^"]+\.gif)"', html).group(1)
    for _ in range(2):
        assert client.get(urlsplit(pixel).path).status_code == 200

    log_in(client)
    page = client.get(f"/organisations/{contact.organisation_id}").text
    row = re.search(
        rf"{re.escape(contact.email)}.*?class=\"[^\"]*open-count[^\"]*\"[^>]*>\s*(\d+)",
        page,
        re.DOTALL,
    )
    assert row and row.group(1) == "2"

"""A Python client generated from the live OpenAPI document works: openapi-python-client
builds it with no warning, and with a bearer token it lists templates, upserts and
fetches a record, sends a message (which a real worker delivers to the SMTP server on
loopback) and reads the record's messages, over real HTTP."""

import importlib
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from werkzeug.serving import make_server

#: What the generator is told (the README shows the same): no formatter run after it, and
#: PDF downloads handed back as files (it has no parser of its own for application/pdf).
CONFIG = """\
post_hooks: []
content_type_overrides:
  application/pdf: application/octet-stream
"""
PACKAGE = "designer_api_client"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def live_api(smtp_app):
    """The test app served over HTTP on loopback (a real server, in a thread)."""
    server = make_server("127.0.0.1", 0, smtp_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture
def generated(live_api, tmp_path):
    """The client package generated from the served document, imported."""
    spec = tmp_path / "openapi.json"
    spec.write_bytes(httpx.get(f"{live_api}/api/openapi.json").raise_for_status().content)
    (tmp_path / "config.yaml").write_text(CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(tmp_path / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output and "WARNING" not in output, output
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def api(package, name):
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def test_the_generated_client_sends_and_reads_back(
    generated, live_api, admin_token, smtp_server, run_worker_burst
):
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated.AuthenticatedClient(
        base_url=live_api, token=admin_token, raise_on_unexpected_status=True
    )
    templates = api(generated, "templates.list_templates").sync(client=client).templates
    welcome = next(t for t in templates if t.name == "Welcome")

    upsert = api(generated, "records.upsert")
    contact = {"id": "55x900", "first_name": "Client", "last_name": "Test"}
    saved = upsert.sync(
        models.UpsertModule.CONTACT,
        client=client,
        body=models.RecordUpsert.from_dict({**contact, "email": "client@example.org"}),
    )
    assert isinstance(saved, models.SavedRecord) and saved.created
    record = api(generated, "records.get_record").sync(
        models.GetRecordModule.CONTACT, saved.id, client=client
    )
    assert record.external_id == "55x900"
    assert record.data.additional_properties["contact"]["first_name"] == "Client"

    new = models.NewMessage(
        template_id=welcome.id,
        record=models.RecordRef(external_id="55x900"),
        idempotency_key="client-test-1",
    )
    sent = api(generated, "messages.send_message").sync(client=client, body=new)
    assert isinstance(sent, models.Message), sent
    assert sent.state == models.MessageState.QUEUED and sent.recipient == "client@example.org"
    again = api(generated, "messages.send_message").sync_detailed(client=client, body=new)
    assert again.parsed.id == sent.id and again.headers["Idempotent-Replayed"] == "true"
    unknown = models.NewMessage(template_id=welcome.id, record=models.RecordRef(id=999999))
    refused = api(generated, "messages.send_message").sync(client=client, body=unknown)
    assert isinstance(refused, models.Error) and refused.error.code == "unknown_record"

    run_worker_burst()
    delivered = smtp_server.handler.messages()
    assert [m["To"] for m in delivered] == ["Client Test <client@example.org>"]
    assert delivered[0]["Subject"] == "Welcome to Northwind Relations BV, Client!"

    history = api(generated, "records.record_messages").sync(
        models.RecordMessagesModule.CONTACT, saved.id, client=client, limit=10
    )
    assert (history.limit, history.next_cursor) == (10, None)
    assert history.messages[0].id == sent.id
    assert history.messages[0].state == models.MessageState.SENT
    fetched = api(generated, "messages.get_message").sync(sent.id, client=client)
    assert fetched.state == models.MessageState.SENT and fetched.message_id

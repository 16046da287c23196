"""The real vtiger the CRM tests talk to, and HTTP servers that are not vtiger.

``VTIGER_URL``, ``VTIGER_USER`` and ``VTIGER_ACCESS_KEY`` name it (what
``setup.sh`` of the local vtiger prints; ``.ci/run`` starts it). Without them
the tests that need it are skipped, unless ``REQUIRE_VTIGER=1`` (CI) makes
that a failure.
"""

import http.server
import os
import subprocess
import threading
from pathlib import Path

import pytest

from designer.crm.client import VtigerClient


@pytest.fixture(scope="session")
def vtiger_account():
    """``(url, user, access_key)`` of the real vtiger."""
    names = ("VTIGER_URL", "VTIGER_USER", "VTIGER_ACCESS_KEY")
    values = tuple(os.environ.get(name, "") for name in names)
    if not all(values):
        reason = "no vtiger: set VTIGER_URL, VTIGER_USER and VTIGER_ACCESS_KEY"
        if os.environ.get("REQUIRE_VTIGER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return values


@pytest.fixture
def vtiger(vtiger_account):
    """A logged-in webservice client on the real vtiger."""
    with VtigerClient(*vtiger_account) as client:
        client.login()
        yield client


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><body>It works!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def web_page_server():
    """URL of an HTTP server on loopback that answers a web page to everything."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


#: The write-back's fields on vtiger's Accounts and Contacts (``vtiger_fields.php``).
WRITEBACK_FIELDS = {
    "opens": "cf_designer_opens",
    "human_opens": "cf_designer_human_opens",
    "last_opened": "cf_designer_last_opened",
    "last_sent": "cf_designer_last_sent",
}


@pytest.fixture(scope="session")
def vtiger_writeback_fields(vtiger_account):
    """Designer's count fields exist on the real vtiger's Accounts and Contacts (made once,
    through vtiger's own vtlib API, by ``vtiger_fields.php``; ``VTIGER_HOME``, default
    ``/tmp/vt``, is where setup.sh installed it)."""
    www = Path(os.environ.get("VTIGER_HOME") or "/tmp/vt") / "www"
    script = Path(__file__).with_name("vtiger_fields.php")
    made = subprocess.run(
        ["php", str(script), str(www)], capture_output=True, text=True, timeout=120, check=False
    )
    assert made.returncode == 0, made.stdout + made.stderr
    return WRITEBACK_FIELDS


@pytest.fixture
def vtiger_since():
    """A sync start just before the test's own vtiger records (the test vtiger is shared and
    keeps growing: no test reads it whole)."""
    import time

    return int(time.time()) - 1


@pytest.fixture
def connected(app, vtiger_account, vtiger_since):
    """The app connected to the real vtiger, reading from ``vtiger_since`` on (a first import)."""
    from designer.crm import connection

    url, user, key = vtiger_account
    saved, _ = connection.save_connection(url, user, key, start=str(vtiger_since))
    return saved


@pytest.fixture(scope="session")
def vtiger_custom_field(vtiger_account):
    """``make(module, "cf_…", label)``: a custom field in the real vtiger, made through vtlib
    (vtiger's webservice cannot make fields); skipped without PHP and vtiger's files."""
    import shutil
    import subprocess
    from pathlib import Path

    www = os.environ.get("VTIGER_WWW", "/tmp/vt/www")
    script = Path(__file__).with_name("vtiger_custom_field.php")
    if not shutil.which("php") or not Path(www, "config.inc.php").exists():
        pytest.skip(f"no PHP or no vtiger files in {www} (VTIGER_WWW) to make a custom field")

    def make(module, name, label):
        done = subprocess.run(
            ["php", str(script), www, module, name, label],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return name

    return make

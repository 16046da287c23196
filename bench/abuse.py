"""Abusive templates against the served product: nothing stalls or crashes a web worker.

Starts ``designer serve`` (its two gevent web workers, worker and scheduler)
on loopback on embedded defaults in a fresh instance folder, logs in as the
demo marketer and posts every payload below as a preview twice at once,
while a poller asks ``/healthz`` every 20 ms. Every payload must come back
as a clear error (or, for the ordinary 0.8 MB template, a preview) and the
web workers' process ids must not change. In the same run it saves a 2 MB
template (compile, validation, a new version) and times it.

    python bench/abuse.py [--rounds 1]

Last line: ``RESULT payloads=<n> worker_crashes=<n> max_ms=<n> healthz_p99_ms=<n>
fold_2mb_ms=<n> fold_2mb_html_ms=<n>`` (targets: 0 crashes, max_ms <= 2500,
healthz_p99_ms <= 250, saving a 2 MB template under 2000 ms: ``fold_2mb_ms`` for
MJML, ``fold_2mb_html_ms`` for plain HTML).
"""

import argparse
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from designer.processes import descendants  # noqa: E402

DEEP = 20_000
MJML_TEXT = (
    "<mjml><mj-body><mj-section><mj-column><mj-text>{}</mj-text></mj-column>"
    "</mj-section></mj-body></mjml>"
)
ORDINARY_SECTION = (
    "<mj-section><mj-column><mj-text>Hello {{{{ contact.first_name }}}}, item {i} for "
    "{{{{ organisation.name }}}}. Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
    "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. <a href="
    '"https://example.com/p/{i}">Read more</a></mj-text><mj-button href='
    '"https://shop.example.com/{i}">Buy</mj-button></mj-column></mj-section>\n'
)
ORDINARY_ROW = (
    '<tr><td style="padding:8px">Hello {{{{ contact.first_name }}}}, item {i} for '
    "{{{{ organisation.name }}}}. Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
    "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. <a href="
    '"https://example.com/p/{i}">Read more</a> <a href="https://shop.example.com/{i}">Buy</a>'
    "</td></tr>\n"
)

#: name -> (kind, source): "mjml" and "html" are e-mail previews, "pdf" a PDF preview.
PAYLOADS = {
    "slice then map and sum": (
        "mjml",
        MJML_TEXT.format("{{ [1]|slice(8000000)|map('length')|sum }}"),
    ),
    "9**99999 squared": ("mjml", MJML_TEXT.format("{% set a = 9**99999 %}{{ a * a }}")),
    "nested format width": ("mjml", MJML_TEXT.format("{{ '{0:{1}}'.format('x', 10000000) }}")),
    "%*s with %": ("mjml", MJML_TEXT.format("{{ '%*s' % (10000000, 'x') }}")),
    "%*s with format": ("mjml", MJML_TEXT.format("{{ '%*s'|format(10000000, 'x') }}")),
    "a + a doubling": (
        "mjml",
        MJML_TEXT.format(
            "{% set l = ['x' * 60000] %}{% for i in 'x' * 30 %}{% if l.append(l[-1] + l[-1]) %}"
            "{% endif %}{% endfor %}"
        ),
    ),
    "wordwrap": ("mjml", MJML_TEXT.format("{{ ('ab ' * 3000)|wordwrap(1, true, 'y' * 10000) }}")),
    "batch": ("mjml", MJML_TEXT.format("{{ [1]|batch(10000000, 0)|list|length }}")),
    "list.extend doubling": (
        "mjml",
        MJML_TEXT.format(
            "{% set l = [1] * 60000 %}{% for i in 'x' * 30 %}{% if l.extend(l) %}{% endif %}"
            "{% endfor %}"
        ),
    ),
    "to_bytes": ("mjml", MJML_TEXT.format("{{ (1).to_bytes(1000000000, 'big') }}")),
    "translate": ("mjml", MJML_TEXT.format("{{ ('x' * 99999).translate({120: 'y' * 99999}) }}")),
    "nested loops to the deadline": (
        "mjml",
        MJML_TEXT.format(
            "{% for a in 'x' * 99999 %}{% for b in 'x' * 99999 %}{{ b.upper() }}{% endfor %}"
            "{% endfor %}"
        ),
    ),
    "20,000 nested divs in MJML": ("mjml", MJML_TEXT.format("<div>" * DEEP + "</div>" * DEEP)),
    "20,000 nested mj-wrappers": (
        "mjml",
        "<mjml><mj-body>" + "<mj-wrapper>" * DEEP + "</mj-wrapper>" * DEEP + "</mj-body></mjml>",
    ),
    "20,000 nested divs in HTML": (
        "html",
        "<html><body>" + "<div>" * DEEP + "x" + "</div>" * DEEP + "</body></html>",
    ),
    "20,000 unclosed <p> in MJML": ("mjml", MJML_TEXT.format("<p>" * DEEP)),
    "0.8 MB ordinary MJML": (
        "mjml",
        "<mjml><mj-body>"
        + "".join(ORDINARY_SECTION.format(i=i) for i in range(1900))
        + "</mj-body></mjml>",
    ),
    "3,000 nested divs in a PDF": (
        "pdf",
        "<html><body>" + "<div>" * 3000 + "x" + "</div>" * 3000 + "</body></html>",
    ),
    "20,000 nested divs in a PDF": (
        "pdf",
        "<html><body>" + "<div>" * DEEP + "x" + "</div>" * DEEP + "</body></html>",
    ),
    "PDF merge at its deadline": (
        "pdf",
        "<html><body>{% for a in 'x' * 99999 %}"
        "{% for b in 'x' * 99999 %}{% endfor %}{% endfor %}"
        "</body></html>",
    ),
}


class Browser:
    """A logged-in session (cookies, CSRF token) against the served product."""

    def __init__(self, base):
        self.base = base
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.opener = urllib.request.build_opener(cookies)
        self.staying = urllib.request.build_opener(cookies, StayHere())
        self.csrf = None

    def request(self, path, data=None, timeout=60, follow=True, headers=None):
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        req = urllib.request.Request(
            self.base + path,
            data=body,
            headers=headers or {},
        )
        try:
            with (self.opener if follow else self.staying).open(req, timeout=timeout) as reply:
                return reply.status, reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def log_in(self, email, password):
        _, page = self.request("/login")
        self.csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(
            1
        )
        status, _ = self.request(
            "/login", {"email": email, "password": password, "csrf_token": self.csrf}
        )
        _, page = self.request("/templates")
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        return status

    def post(self, path, fields, timeout=60, follow=True):
        return self.request(path, {**fields, "csrf_token": self.csrf}, timeout, follow)

    def post_json(self, path, body, timeout=60):
        """A page script's call to the REST API: JSON, the CSRF token in ``X-CSRFToken``."""
        headers = {"Content-Type": "application/json", "X-CSRFToken": self.csrf}
        return self.request(path, json.dumps(body).encode(), timeout, headers=headers)


class StayHere(urllib.request.HTTPRedirectHandler):
    """Answers a redirect with the redirect itself (a save's 302, not the page after it)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Served:
    """``designer serve`` in its own instance folder, as ``make run`` runs it."""

    def __init__(self, instance):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY")
        }
        self.env.update(
            DESIGNER_INSTANCE_PATH=str(instance),
            PUBLIC_URL=self.base,
            SMTP_CATCHER_PORT=str(_free_port()),
        )
        self.instance = instance

    def designer(self, *args):
        subprocess.run(
            [sys.executable, "-m", "designer", *args],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def start(self):
        self.designer("db", "upgrade")
        self.designer("demo")
        self.log = open(self.instance / "serve.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "designer", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.healthz() is not None:
                return
            time.sleep(0.25)
        raise SystemExit(
            "designer serve did not start: " + (self.instance / "serve.log").read_text()[-2000:]
        )

    def healthz(self):
        try:
            with urllib.request.urlopen(self.base + "/healthz", timeout=5) as response:
                return json.load(response)
        except OSError:
            return None

    def web_workers(self):
        """Pids of gunicorn's worker processes (children of its master)."""
        found = set()
        for pid in descendants(self.process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                parent_cmd = Path(f"/proc/{parent}/cmdline").read_bytes()
            except (OSError, ValueError):
                continue
            if b"gunicorn" in b" ".join(cmdline) and b"gunicorn" in parent_cmd:
                found.add(pid)
        return found

    def stop(self):
        import signal

        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        self.log.close()


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HealthPoller(threading.Thread):
    """Asks ``/healthz`` every 20 ms and keeps each answer's latency."""

    def __init__(self, served):
        super().__init__(daemon=True)
        self.served, self.latencies, self.stopped = served, [], threading.Event()

    def run(self):
        while not self.stopped.is_set():
            started = time.monotonic()
            answer = self.served.healthz()
            self.latencies.append((time.monotonic() - started) * 1000 if answer else 10_000)
            self.stopped.wait(0.02)


def template_ids(browser):
    """Ids of a demo MJML e-mail, a new HTML e-mail, a PDF template and a record for it."""
    _, body = browser.request("/api/v1/templates")
    templates = json.loads(body)["templates"]
    mjml = next(t["id"] for t in templates if t["kind"] == "email" and t["source_type"] == "mjml")
    pdf = next(t for t in templates if t["kind"] == "pdf" and t["module"] == "invoice")
    browser.post(
        "/templates/new",
        {
            "name": "Plain HTML",
            "source_type": "html",
            "source": "<p>Hi {{ contact.first_name }}</p>",
            "subject": "Hi",
            "module": "contact",
            "language": "en",
        },
    )
    _, body = browser.request("/api/v1/templates")
    html = next(t["id"] for t in json.loads(body)["templates"] if t["name"] == "Plain HTML")
    record = first_found(browser, "invoice")
    contact = first_found(browser, "contact")
    return {"mjml": mjml, "html": html, "pdf": pdf["id"]}, record, contact


def first_found(browser, module):
    """The id of the first record the editors' record picker offers."""
    _, body = browser.request(f"/records/search/{module}?q=")
    return json.loads(body)["results"][0]["id"]


def preview(browser, ids, record, contact, kind, source):
    """Post one preview; return ``(status, milliseconds)``."""
    started = time.monotonic()
    if kind == "pdf":
        status, _ = browser.post_json(
            f"/api/v1/templates/{ids['pdf']}/pdf-preview", {"source": source, "record_id": record}
        )
    else:
        status, _ = browser.post_json(
            f"/api/v1/templates/{ids[kind]}/preview",
            {"source": source, "subject": "x", "record_id": contact},
        )
    return status, (time.monotonic() - started) * 1000


def twice_at_once(browser, ids, record, contact, kind, source):
    results = [None, None]

    def one(slot):
        results[slot] = preview(browser, ids, record, contact, kind, source)

    threads = [threading.Thread(target=one, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def save_2mb(browser, template_id, kind):
    """Save a 2 MB ordinary template (MJML or HTML) as a new version: the POST that compiles,
    checks and stores it, up to its redirect; milliseconds."""
    section_of = ORDINARY_SECTION if kind == "mjml" else ORDINARY_ROW
    sections, size, count = [], 0, 0
    while size < 1_990_000:  # 2 MB, within the 2,000,000 characters a template may have
        section = section_of.format(i=count)
        sections.append(section)
        size += len(section)
        count += 1
    body = "".join(sections)
    source = (
        f"<mjml><mj-body>{body}</mj-body></mjml>"
        if kind == "mjml"
        else f"<html><body><table>{body}</table></body></html>"
    )
    started = time.monotonic()
    status, page = browser.post(
        f"/templates/{template_id}", {"source": source, "subject": "x"}, timeout=120, follow=False
    )
    elapsed = (time.monotonic() - started) * 1000
    if status != 302:
        raise SystemExit(f"the 2 MB {kind} template was not saved ({status}): {page[:300]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="times each payload is posted")
    parser.add_argument("--only", help="payload names containing this text")
    args = parser.parse_args()
    payloads = {
        name: value for name, value in PAYLOADS.items() if not args.only or args.only in name
    }
    with tempfile.TemporaryDirectory(prefix="designer-abuse-") as folder:
        served = Served(Path(folder))
        served.start()
        try:
            run(served, payloads, args.rounds)
        finally:
            served.stop()


def run(served, payloads, rounds):
    browser = Browser(served.base)
    browser.log_in("marketer@example.com", "demo")
    ids, record, contact = template_ids(browser)
    workers_before = served.web_workers()
    poller = HealthPoller(served)
    poller.start()
    slowest, statuses = 0.0, {}
    for _ in range(rounds):
        for name, (kind, source) in payloads.items():
            results = twice_at_once(browser, ids, record, contact, kind, source)
            statuses[name] = [status for status, _ in results]
            slowest = max([slowest] + [ms for _, ms in results])
            print(
                f"{name:32} {results[0][0]} {results[0][1]:7.0f} ms  {results[1][0]} "
                f"{results[1][1]:7.0f} ms",
                flush=True,
            )
    poller.stopped.set()
    poller.join()
    fold_ms = save_2mb(browser, ids["mjml"], "mjml")
    fold_html_ms = save_2mb(browser, ids["html"], "html")
    crashes = len(workers_before - served.web_workers())
    p99 = statistics.quantiles(poller.latencies, n=100)[98] if len(poller.latencies) > 1 else 0
    server_errors = [name for name, codes in statuses.items() if any(c >= 500 for c in codes)]
    if server_errors:
        print("answered 5xx: " + ", ".join(server_errors), file=sys.stderr)
    load = "/".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"healthz polled {len(poller.latencies)} times; load {load}")
    print(
        f"saving a 2 MB template: MJML {fold_ms:.0f} ms (about 11 MB of HTML once "
        f"compiled), HTML {fold_html_ms:.0f} ms"
    )
    print(
        f"RESULT payloads={len(payloads)} worker_crashes={crashes} max_ms={slowest:.0f} "
        f"healthz_p99_ms={p99:.0f} fold_2mb_ms={fold_ms:.0f} "
        f"fold_2mb_html_ms={fold_html_ms:.0f}"
    )


if __name__ == "__main__":
    main()

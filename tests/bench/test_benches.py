"""The bench scripts run and end with their RESULT line (tiny N: figures are not asserted,
except that the chaos bench must keep the honest promise)."""

import glob
import http.server
import importlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.bench

ROOT = Path(__file__).resolve().parents[2]
SMTP_SINK = Path("/usr/sbin/smtp-sink")
INITDB = glob.glob("/usr/lib/postgresql/*/bin/initdb")
REDIS_SERVER = shutil.which("redis-server")
CHAOS_RESULT = (
    r"RESULT lost=(\d+) duplicates=(\d+) kills=(\d+) "
    r"dropped_after_data=(\d+) restarts=(\d+) in_flight=(\d+)"
)


def run_bench(name, *args):
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_render_bench_prints_its_result_line():
    last = run_bench("render.py", "--n", "300")
    assert re.fullmatch(r"RESULT messages_per_s=\d+ ratio_to_floor=\d+\.\d+", last), last


def test_pdf_bench_prints_its_result_line(redis_url):
    last = run_bench(
        "pdf.py", "--single", "2", "--long", "1", "--batch", "6", *bench_env(redis_url)
    )
    assert re.fullmatch(
        r"RESULT single_ms=\d+ long_ms=\d+ overhead=\d+\.\d+ "
        r"batch_pages_per_s=[\d.]+ batch_scaling=[\d.]+",
        last,
    ), last


def bench_env(redis_url):
    """Where the sending benches make their own database and Redis: the test run's servers
    (a fresh PostgreSQL database beside TEST_DATABASE_URL, else SQLite; Redis db 15)."""
    base = redis_url.split("?")[0]
    if base.startswith("unix://"):
        redis = f"{base}?db=15"
    else:
        redis = base.rsplit("/", 1)[0] + "/15" if base.count("/") > 2 else f"{base}/15"
    args = ["--redis-url", redis]
    database = os.environ.get("TEST_DATABASE_URL")
    if database:
        args += ["--postgres-url", database.rsplit("/", 1)[0] + "/postgres"]
    else:
        args.append("--sqlite")
    return args


@pytest.mark.skipif(
    not SMTP_SINK.exists(), reason="Postfix's smtp-sink is missing (apt install postfix)"
)
def test_send_bench_prints_its_result_line(redis_url):
    last = run_bench("send.py", "--n", "300", *bench_env(redis_url))
    assert re.fullmatch(r"RESULT messages_per_s=\d+ ratio_to_raw=\d+\.\d+", last), last


@pytest.mark.skipif(
    not SMTP_SINK.exists(), reason="Postfix's smtp-sink is missing (apt install postfix)"
)
def test_signed_send_bench_compares_signed_with_unsigned(redis_url):
    last = run_bench("send.py", "--n", "200", "--dkim", *bench_env(redis_url))
    pattern = r"RESULT messages_per_s=\d+ ratio_to_raw=\d+\.\d+ ratio_signed_to_unsigned=\d+\.\d+"
    assert re.fullmatch(pattern, last), last


def test_chaos_bench_loses_nothing(redis_url):
    last = run_bench("chaos.py", "--n", "300", *bench_env(redis_url))
    found = re.fullmatch(CHAOS_RESULT, last)
    assert found, last
    lost, duplicates, kills, dropped, restarts, in_flight = map(int, found.groups())
    assert lost == 0, last
    assert kills == 5 and restarts == in_flight == 0, last
    assert duplicates <= kills + dropped, last


@pytest.mark.skipif(
    not INITDB or REDIS_SERVER is None, reason="PostgreSQL's initdb or redis-server is missing"
)
def test_chaos_bench_survives_redis_and_postgres_restarts():
    """Private servers of the bench's own (the shared ones are never restarted)."""
    last = run_bench(
        "chaos.py", "--n", "200", "--kills", "0", "--redis-restart", "--postgres-restart"
    )
    found = re.fullmatch(CHAOS_RESULT, last)
    assert found, last
    lost, duplicates, _, dropped, restarts, in_flight = map(int, found.groups())
    assert lost == 0 and restarts == 2, last
    assert duplicates <= dropped + in_flight, last


def test_chaos_bench_survives_an_embedded_redis_restart():
    last = run_bench("chaos.py", "--n", "200", "--kills", "0", "--sqlite", "--redis-restart")
    found = re.fullmatch(CHAOS_RESULT, last)
    assert found, last
    lost, duplicates, _, dropped, restarts, in_flight = map(int, found.groups())
    assert lost == 0 and restarts == 1, last
    assert duplicates <= dropped + in_flight, last


def test_chaos_bench_refuses_a_postgres_restart_on_sqlite():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos.py"), "--sqlite", "--postgres-restart"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--postgres-restart needs PostgreSQL" in result.stderr


@pytest.mark.skipif(not Path("/usr/bin/wrk").exists(), reason="wrk is not installed")
def test_pixel_bench_counts_every_hit(redis_url):
    last = run_bench("pixel.py", "--n", "2000", *bench_env(redis_url))
    found = re.fullmatch(
        r"RESULT hits_per_s=\d+ p50_ms=[\d.]+ p99_ms=[\d.]+ lost=(-?\d+) "
        r"ratio_to_bare=[\d.]+",
        last,
    )
    assert found, last
    assert found.group(1) == "0", last


def test_abuse_bench_crashes_no_web_worker():
    """The deepest payloads against the served product: each a clear 422, no worker lost."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "abuse.py"), "--only", "20,000"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    payloads = [line for line in lines if "20,000" in line]
    statuses = [re.findall(r" (\d{3}) +\d+ ms", line) for line in payloads]
    assert len(payloads) == 5 and all(codes == ["422", "422"] for codes in statuses), lines
    found = re.fullmatch(
        r"RESULT payloads=5 worker_crashes=(\d+) max_ms=\d+ "
        r"healthz_p99_ms=\d+ fold_2mb_ms=\d+ fold_2mb_html_ms=\d+",
        lines[-1],
    )
    assert found and found.group(1) == "0", lines[-1]


def test_migration_bench_converts_most_tokens_and_leaves_none_silent():
    last = run_bench("migration.py")
    found = re.fullmatch(
        r"RESULT templates=(\d+) tokens=(\d+) converted_share=([\d.]+) silent=(\d+)", last
    )
    assert found, last
    assert int(found.group(1)) >= 10 and float(found.group(3)) >= 0.9
    assert found.group(4) == "0"


def test_hooks_bench_processes_each_event_once(redis_url):
    last = run_bench(
        "hooks.py",
        "--events",
        "60",
        "--connections",
        "8",
        "--timeout",
        "240",
        *bench_env(redis_url),
    )
    found = re.fullmatch(
        r"RESULT events_per_s=\d+ p99_ms=[\d.]+ lost=(\d+) duplicates_run=(\d+) "
        r"intake_per_s=\d+ offered_per_s=700 raw_p99_ms=[\d.]+",
        last,
    )
    assert found, last
    assert found.groups() == ("0", "0"), last


def test_hooks_bench_flat_out_compares_the_intake_rate_with_the_raw_floor(redis_url):
    last = run_bench(
        "hooks.py",
        "--events",
        "40",
        "--connections",
        "4",
        "--rate",
        "0",
        "--timeout",
        "240",
        *bench_env(redis_url),
    )
    found = re.fullmatch(
        r"RESULT events_per_s=\d+ p99_ms=[\d.]+ lost=0 duplicates_run=0 "
        r"intake_per_s=\d+ ratio_to_raw=[\d.]+",
        last,
    )
    assert found, last


def test_hooks_bench_posts_at_the_rate_asked_and_counts_latency_from_when_each_was_due():
    """40 posts at 100/s take at least 0.39 s whatever the server; a server that answers
    after 0.3 s with one connection makes the later posts wait, and their latency says so."""
    hooks = bench_module("hooks")

    class Slow(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        delay = 0.0

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(self.delay)
            self.send_response(202)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        requests = [hooks.signed_request("/", b"{}", "s", 0)] * 40
        seconds, answers = hooks.post_all(port, requests, connections=4, rate=100)
        assert 0.39 <= seconds < 2 and {status for status, _ in answers} == {202}
        Slow.delay = 0.3
        _, answers = hooks.post_all(port, requests[:4], connections=1, rate=100)
        latencies = [latency for _, latency in answers]
        # the 4th post is due 0.08 s in but sent only after three answers, at 0.9 s
        assert latencies[0] < 0.5 and latencies[-1] > 0.85
    finally:
        server.shutdown()


def bench_module(name):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "bench"))


def test_mutation_bench_lists_existing_modules_and_tests_and_configures_each():
    mutation = bench_module("mutation")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    modules = mutation.modules(pyproject)
    assert "designer/templating/sandbox.py" in modules and "designer/mail/ledger.py" in modules
    for path, settings in modules.items():
        assert (ROOT / path).is_file(), path
        assert settings["tests"] and all((ROOT / test).exists() for test in settings["tests"])
        config = tomllib.loads(mutation.module_config(pyproject, path, settings["tests"]))
        assert config["tool"]["mutmut"]["only_mutate"] == [path]
        assert config["tool"]["mutmut"]["pytest_add_cli_args_test_selection"] == settings["tests"]
        assert config["tool"]["pytest"]["ini_options"]["pythonpath"] == ["tests"]
    stats = {"killed": 80, "timeout": 5, "survived": 10, "no_tests": 5, "total": 102}
    stats |= {"skipped": 2, "suspicious": 0}
    assert mutation.killed(stats) == 85 and mutation.counted(stats) == 100


def test_line_coverage_runs_each_chosen_modules_mutation_tests():
    line_coverage = bench_module("line_coverage")
    chosen = line_coverage.critical_modules(["fetcher", "ledger"])
    assert set(chosen) == {"designer/pdf/fetcher.py", "designer/mail/ledger.py"}
    assert chosen["designer/pdf/fetcher.py"] == [
        "tests/pdf/test_fetcher.py",
        "tests/pdf/test_safety.py",
    ]
    assert "tests/mail/test_ledger.py" in chosen["designer/mail/ledger.py"]
    every = line_coverage.critical_modules(None)
    assert all((ROOT / test).exists() for tests in every.values() for test in tests)


def test_mutation_lanes_give_each_postgresql_module_a_database_and_redis_of_its_own():
    mutation = bench_module("mutation")
    environ = {
        "PATH": "/bin",
        "TEST_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/mut",
        "TEST_REDIS_URL": "redis://127.0.0.1:6379/8",
    }
    first = mutation.module_env({"postgresql": True}, 0, environ)
    second = mutation.module_env({"postgresql": True}, 1, environ)
    assert first == environ
    assert second["TEST_DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5432/mut_lane1"
    assert second["TEST_REDIS_URL"] == "redis://127.0.0.1:6379/9"
    assert mutation.lane_url("redis://127.0.0.1:6379", 2, "redis") == "redis://127.0.0.1:6379/2"
    embedded = mutation.module_env({"tests": []}, 1, environ)
    assert embedded == {"PATH": "/bin"}, "a module with no PostgreSQL code runs on the defaults"
    alone = mutation.module_env({"postgresql": True}, 1, {"PATH": "/bin"})
    assert alone == {"PATH": "/bin"}, "with no database named, SQLite and the embedded Redis"


def test_mutation_lanes_run_every_module_once_at_most_jobs_at_a_time(monkeypatch):
    mutation = bench_module("mutation")
    running, seen, peak, lock = set(), [], [0], threading.Lock()

    def run_module(pyproject, path, settings, show_survivors, lane):
        with lock:
            assert lane not in running, "a lane runs one module at a time"
            running.add(lane)
            seen.append(path)
            peak[0] = max(peak[0], len(running))
        time.sleep(0.05)
        with lock:
            running.discard(lane)
        return None if path == "broken" else {"total": 1}

    monkeypatch.setattr(mutation, "run_module", run_module)
    chosen = {name: {} for name in ("a", "b", "broken", "c", "d")}
    results = mutation.run_lanes({}, chosen, False, 2)
    assert sorted(seen) == sorted(chosen) and peak[0] == 2
    assert results == [{"total": 1}] * 4, "a module that gave no stats is left out of the total"


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="makes a PostgreSQL database")
def test_mutation_lane_database_is_made_once():
    mutation = bench_module("mutation")
    url = mutation.lane_url(os.environ["TEST_DATABASE_URL"], 7, "postgresql")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(
        os.environ["TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    name = url.rsplit("/", 1)[1]
    try:
        mutation.create_database(url)
        mutation.create_database(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar() == name
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="its targets and EXPLAIN are PostgreSQL's"
)
def test_scale_bench_counts_starts_flushes_and_times_the_pages(redis_url):
    last = run_bench(
        "scale.py",
        *("--contacts", "600", "--history", "120", "--outbox", "60"),
        *bench_env(redis_url),
    )
    found = re.fullmatch(
        r"RESULT contacts=600 count_ms=\d+ start_rows_per_s=(\d+) start_peak_rss_mb=\d+ "
        r"flush_hits_per_s=(\d+) report_ms=\d+ report_count_ms=\d+ org_page_ms=\d+ "
        r"contact_page_ms=\d+ outbox_ms=\d+ seq_scans=\d+ scaling=[\d.]+",
        last,
    )
    assert found, last
    assert int(found.group(1)) > 0 and int(found.group(2)) > 0, last

"""Work for a request runs in a child process: crashes, hangs and memory blow-ups end
the child with a clear error, never the process serving requests."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from designer import isolation
from designer.extensions import db
from designer.templating.sandbox import MergeError


def own_pid():
    return os.getpid()


def crash():
    os.kill(os.getpid(), signal.SIGSEGV)


def hang():
    time.sleep(30)


def exhaust_memory():
    return len(bytearray(4 * 1024 * 1024 * 1024))


def merge_error():
    raise MergeError("unknown field", 7)


def count_users():
    from designer.records import User

    return db.session.scalar(db.select(db.func.count()).select_from(User))


def test_outside_a_request_the_work_runs_here(app):
    assert isolation.run(own_pid) == os.getpid()


def test_for_a_request_the_work_runs_in_a_child(app):
    with app.test_request_context():
        assert isolation.run(own_pid) != os.getpid()


def test_a_crash_ends_the_child_with_a_message(app):
    with app.test_request_context(), pytest.raises(isolation.IsolatedFailure) as caught:
        isolation.run(crash, what="the preview")
    assert "the preview crashed (signal 11, SIGSEGV)" in str(caught.value)


def test_a_hang_is_stopped_at_the_timeout(app):
    started = time.monotonic()
    with (
        app.test_request_context(),
        pytest.raises(isolation.IsolatedFailure, match=r"longer than 0\.5 seconds"),
    ):
        isolation.run(hang, timeout=0.5)
    assert time.monotonic() - started < 2
    assert not zombie_children(), "the stopped child was not reaped"


def zombie_children():
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            found.append(stat.parent.name)
    return found


def test_memory_past_the_limit_ends_the_child(app):
    with (
        app.test_request_context(),
        pytest.raises(isolation.IsolatedFailure, match="more than 1024 MB"),
    ):
        isolation.run(exhaust_memory)


def test_errors_of_the_work_reach_the_caller_whole(app):
    with app.test_request_context(), pytest.raises(MergeError) as caught:
        isolation.run(merge_error)
    assert caught.value.line == 7 and caught.value.message == "unknown field"


def test_the_child_may_not_use_the_parents_database_connection(app, demo):
    expected = count_users()
    with app.test_request_context():
        for _ in range(3):
            with pytest.raises(isolation.IsolatedFailure, match="cannot use the database"):
                isolation.run(count_users)
    assert count_users() == expected  # the parent's connection is still in order


def test_the_parents_connections_survive_many_children(app, demo):
    import gc

    from designer.broker import get_redis

    with app.test_request_context():
        for _ in range(20):
            gc.collect()
            isolation.run(own_pid)
    assert count_users() and get_redis().ping()


def test_isolation_can_be_switched_off(app):
    app.config["ISOLATE_REQUESTS"] = False
    with app.test_request_context():
        assert isolation.run(own_pid) == os.getpid()


def current_request_path():
    from flask import request

    return request.path


def test_the_work_sees_the_request_it_serves(app):
    with app.test_request_context("/records/invoice/7/pdf"):
        assert isolation.run(current_request_path) == "/records/invoice/7/pdf"


def ended_by_a_base_exception():
    raise KeyboardInterrupt


def test_work_ended_by_a_base_exception_says_so(app):
    with app.test_request_context(), pytest.raises(isolation.IsolatedFailure, match="KeyboardIn"):
        isolation.run(ended_by_a_base_exception)


#: A gevent-patched process like gunicorn's gevent worker: one greenlet does what the
#: worker's loop does (ends the process when its parent changed, as it would in a child),
#: another ticks; the work yields to the event loop the way cffi's lazy lookups inside
#: WeasyPrint do (a failed non-blocking acquire of a patched lock) and sleeps.
GEVENT_WORKER = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()

    import json, os, sys, threading
    import gevent
    from designer import isolation

    PARENT = os.getpid()

    def worker_loop():
        while True:
            if os.getpid() != PARENT:
                sys.exit(0)
            gevent.sleep(0.001)

    def yielding_work():
        lock = threading.Lock()
        lock.acquire()
        for _ in range(200):
            lock.acquire(False)
        gevent.sleep(0.05)
        return os.getpid() != PARENT

    gevent.spawn(worker_loop)
    gevent.sleep(0.01)
    outcomes = []
    for _ in range(5):
        try:
            outcomes.append(isolation._run_in_child(yielding_work, (), 10, "the work"))
        except isolation.IsolatedFailure as exc:
            outcomes.append(str(exc))
    print(json.dumps(outcomes))
""")


def test_under_gevent_the_workers_greenlets_never_run_in_the_child():
    result = subprocess.run(
        [sys.executable, "-c", GEVENT_WORKER],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True] * 5

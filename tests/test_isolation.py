"""Work for a request runs in a child process: crashes, hangs and memory blow-ups end
the child with a clear error, never the process serving requests."""

import os
import signal
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

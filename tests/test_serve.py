"""``designer serve`` runs everything on embedded defaults and stops it all cleanly."""

import os
import re
import signal
from pathlib import Path

import pytest
from support import ServedProduct, alive, wait_for

from designer.processes import descendants


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_starts_all_parts_and_leaves_no_orphans(tmp_path, sig):
    served = ServedProduct(tmp_path)
    served.start()
    children = descendants(served.process.pid)
    assert len(children) >= 3  # embedded redis, worker, scheduler (and RQ's work horses)
    assert (tmp_path / "redis.sock").exists()
    assert served.stop(sig) == 0
    assert wait_for(lambda: not any(alive(pid) for pid in children), timeout=15), [
        pid for pid in children if alive(pid)
    ]
    log = (tmp_path / "serve.log").read_text()
    assert f"Designer on {served.url}/" in log and "admin@example.com / demo" in log
    assert "Stopped." in log


def parent_of(pid):
    """The parent of ``pid``, or None once it has gone (RQ's work horses come and go)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def cmdline_of(pid):
    """The command line of ``pid``, or nothing once it has gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_when_a_part_dies_serve_stops_the_rest_and_says_so(tmp_path):
    served = ServedProduct(tmp_path)
    served.start()
    children = descendants(served.process.pid)
    workers = [  # serve's own child (RQ renames it "rq:worker:…"), not one it forked
        pid
        for pid in children
        if parent_of(pid) == served.process.pid
        and re.search(rb"designer\x00worker|^rq:worker", cmdline_of(pid))
    ]
    if len(workers) != 1:  # stop it before failing: no product left running
        served.stop()
    assert len(workers) == 1, workers
    os.kill(workers[0], signal.SIGKILL)
    assert served.process.wait(timeout=30) == 1
    served.log.close()
    assert wait_for(lambda: not any(alive(pid) for pid in children), timeout=15)
    assert "The worker process stopped unexpectedly." in (tmp_path / "serve.log").read_text()


def test_serve_starts_the_embedded_redis_again_and_its_parts_reconnect(tmp_path):
    served = ServedProduct(tmp_path)
    served.start()
    redis = next(
        pid for pid in descendants(served.process.pid) if b"redis-server" in cmdline_of(pid)
    )
    os.kill(redis, signal.SIGKILL)
    assert wait_for(
        lambda: "The embedded Redis stopped; starting it again." in served.log_text(), timeout=15
    ), served.log_text()[-3000:]
    assert wait_for(served.healthy, timeout=60), served.log_text()[-3000:]  # workers back
    assert served.process.poll() is None
    assert served.stop(signal.SIGTERM) == 0

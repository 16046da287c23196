"""``designer serve`` runs everything on embedded defaults and stops it all cleanly."""

import os
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


def test_when_a_part_dies_serve_stops_the_rest_and_says_so(tmp_path):
    served = ServedProduct(tmp_path)
    served.start()
    children = descendants(served.process.pid)
    worker = next(
        pid
        for pid in children
        if b"designer\x00worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )
    os.kill(worker, signal.SIGKILL)
    assert served.process.wait(timeout=30) == 1
    served.log.close()
    assert wait_for(lambda: not any(alive(pid) for pid in children), timeout=15)
    assert "The worker process stopped unexpectedly." in (tmp_path / "serve.log").read_text()

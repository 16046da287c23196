"""``designer serve`` runs everything on embedded defaults and stops it all cleanly."""

import signal

import pytest
from support import ServedProduct, alive, descendants, wait_for


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_starts_all_parts_and_leaves_no_orphans(tmp_path, sig):
    served = ServedProduct(tmp_path)
    served.start()
    children = descendants(served.process.pid)
    assert len(children) >= 3  # embedded redis, worker, scheduler (and RQ's work horses)
    assert (tmp_path / "redis.sock").exists()
    assert served.stop(sig) == 0
    assert wait_for(lambda: not any(alive(pid) for pid in children), timeout=15), [
        pid for pid in children if alive(pid)]
    log = (tmp_path / "serve.log").read_text()
    assert f"Designer on {served.url}/" in log and "admin@example.com / demo" in log
    assert "Stopped." in log

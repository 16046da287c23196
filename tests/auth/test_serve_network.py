"""``designer serve`` on a network address refuses demo passwords (real processes)."""

import subprocess
import sys

from account_steps import STRONG
from support import ServedProduct, wait_for

#: Every interface: what a network deployment binds (the tests only ever connect to 127.0.0.1).
ANY = "0.0.0.0"
DEMO_USERS = (
    "admin@example.com",
    "marketer@example.com",
    "sabine.krueger@example.com",
    "liam.walsh@example.com",
)


def designer(served, *args, input=None, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "designer", *args],
        env=served.env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        start_new_session=True,
    )


def test_serve_on_a_network_needs_real_passwords(tmp_path):
    served = ServedProduct(tmp_path)
    served.designer("db", "upgrade")
    served.designer("demo")
    refused = designer(served, "serve", "--host", ANY, "--port", str(served.port), timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "admin@example.com" in refused.stderr and "demo password" in refused.stderr
    assert "designer user passwd EMAIL" in refused.stderr
    assert not (tmp_path / "redis.sock").exists()  # nothing was started

    for email in DEMO_USERS[:3]:
        assert (
            designer(served, "user", "passwd", email, input=f"{STRONG}\n{STRONG}\n").returncode == 0
        )
    assert designer(served, "user", "disable", DEMO_USERS[3]).returncode == 0
    still = designer(served, "serve", "--host", ANY, "--port", str(served.port), timeout=60)
    assert still.returncode == 2 and "liam.walsh@example.com" in still.stderr
    assert "admin@example.com" not in still.stderr
    assert (
        designer(served, "user", "passwd", DEMO_USERS[3], input=f"{STRONG}\n{STRONG}\n").returncode
        == 0
    )

    served.log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed by stop()
    served.process = subprocess.Popen(
        [sys.executable, "-m", "designer", "serve", "--host", ANY, "--port", str(served.port)],
        env=served.env,
        stdout=served.log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_for(served.healthy, timeout=60, interval=0.25), (
            tmp_path / "serve.log"
        ).read_text()[-3000:]
    finally:
        assert served.stop() == 0
    log = (tmp_path / "serve.log").read_text()
    assert "Designer on http://0.0.0.0:" in log and "/ demo" not in log


def test_serve_on_loopback_prints_only_the_demo_logins_still_valid(tmp_path):
    served = ServedProduct(tmp_path)
    served.designer("db", "upgrade")
    served.designer("demo")
    assert (
        designer(
            served, "user", "passwd", "marketer@example.com", input=f"{STRONG}\n{STRONG}\n"
        ).returncode
        == 0
    )
    served.start()
    try:
        assert served.healthy()
    finally:
        assert served.stop() == 0
    log = (tmp_path / "serve.log").read_text()
    assert "logins   admin@example.com / demo (admin)" in log
    assert "marketer@example.com / demo" not in log

"""A real worker and scheduler outlive a restart of a Redis that keeps nothing: both wait
while it is down, then the scheduler queues the periodic jobs again and the worker runs
them; SIGTERM still stops them while they wait."""

import shutil
import socket
import subprocess
import sys
import time

import pytest
from redis import Redis
from rq.registry import FinishedJobRegistry
from support import child_env

from designer.broker import PERIODIC
from designer.processes import start_child, stop_child

REDIS_SERVER = shutil.which("redis-server")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowAwayRedis:
    """A ``redis-server`` of this test's own on a free port, without persistence."""

    def __init__(self, folder):
        self.port, self.folder, self.process = free_port(), folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = start_child(argv, stdout=subprocess.DEVNULL)
        wait_until(lambda: answers(self.url), 10)

    def stop(self):
        stop_child(self.process)


def answers(url):
    try:
        return Redis.from_url(url, socket_timeout=1).ping()
    except OSError:
        return False
    except Exception:  # redis' own ConnectionError
        return False


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def periodic_jobs_done(url):
    return FinishedJobRegistry(PERIODIC, connection=Redis.from_url(url)).count


@pytest.fixture
def throwaway_redis(tmp_path):
    server = ThrowAwayRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")
def test_worker_and_scheduler_carry_on_after_redis_restarts(app, throwaway_redis, tmp_path):
    env = child_env(app)
    env.update(REDIS_URL=throwaway_redis.url, REAP_INTERVAL="1")
    log = open(tmp_path / "children.log", "wb")  # noqa: SIM115 - closed below
    children = [
        start_child(
            [sys.executable, "-m", "designer", command, "--log-level", "WARNING"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for command in ("worker", "scheduler")
    ]
    try:
        assert wait_until(lambda: periodic_jobs_done(throwaway_redis.url) > 0, 60)
        throwaway_redis.stop()
        time.sleep(2)
        throwaway_redis.start()
        assert periodic_jobs_done(throwaway_redis.url) == 0  # everything was lost
        came_back = wait_until(lambda: periodic_jobs_done(throwaway_redis.url) > 0, 60)
        output = (tmp_path / "children.log").read_text(errors="replace")
        assert came_back, output[-3000:]
        assert [child.poll() for child in children] == [None, None], output[-3000:]
        assert "Redis answers again" in output

        throwaway_redis.stop()  # down again: SIGTERM still ends both while they wait
        time.sleep(2)
        for child in children:
            child.terminate()
        assert [child.wait(timeout=45) for child in children] == [0, 0]
    finally:
        for child in children:
            stop_child(child)
        log.close()

"""Private PostgreSQL and Redis servers a bench may stop and start at will.

The machine's shared servers are never touched: each server here is started
for one bench run, in a temporary folder, on a free loopback port (or a unix
socket, for the product's embedded Redis), and removed when the run ends.

- ``PrivatePostgres``: a cluster made by ``initdb`` (as the ``postgres`` account
  when run as root, which initdb refuses), started and stopped by ``pg_ctl``;
  a stop is PostgreSQL's "fast" shutdown, every client connection cut.
- ``PrivateRedis``: a ``redis-server`` without persistence, like a cache-only
  production Redis: a restart loses every queued job and registry.
- ``PrivateEmbeddedRedis``: the product's own embedded server
  (``designer.embedded``, append-only file), as run on SQLite installations.

Each has ``url``, ``start()``, ``stop()``, ``restart(down_seconds)`` and
``close()``.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path

from campaign_env import free_port, wait_for_port

from designer.processes import start_child, stop_child

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _postgres_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is missing (apt install postgresql)")
    return found[-1]


class _PrivateServer:
    """What the bench's servers share: ``start``/``stop`` are each one's, in ``self.dir``."""

    def restart(self, down_seconds=2.0):
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def close(self):
        with suppress(Exception):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivatePostgres(_PrivateServer):
    """A throw-away PostgreSQL cluster on a free port, owned by ``postgres`` under root."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="designer-bench-pg-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv):
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        result = subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed:\n{result.stderr[-2000:]}")

    def start(self):
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=100"
        )
        self._run(
            _postgres_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "postgres.log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self):
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


class PrivateRedis(_PrivateServer):
    """A ``redis-server`` on a free loopback port, nothing persisted."""

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="designer-bench-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.dir)]
        argv += ["--logfile", str(self.dir / "redis.log")]
        self.process = start_child(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_port(self.port)

    def stop(self):
        if self.process is not None:
            stop_child(self.process, timeout=30)
            self.process = None


class PrivateEmbeddedRedis(_PrivateServer):
    """The product's embedded Redis, in a folder of its own (the instance folder's role)."""

    def __init__(self):
        from designer.embedded import EmbeddedRedis

        self.dir = Path(tempfile.mkdtemp(prefix="designer-bench-embedded-"))
        self.server = EmbeddedRedis(self.dir)
        self.url = self.server.url

    def start(self):
        self.server.start()

    def stop(self):
        self.server.stop()

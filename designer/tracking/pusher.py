"""Group commit of hits to the Redis buffer: one ``RPUSH`` for every hit that arrived meanwhile.

Under load, many pixel requests run at once in a web process. Each hands its
hit to the process's ``HitPusher`` and waits; a single writer thread pushes
everything waiting in one ``RPUSH`` and then releases those requests. A hit
is in Redis before its request is answered — nothing is acknowledged from
memory, so a killed process loses no hit it has answered — while the Redis
work per hit shrinks to a fraction of a round trip. With one request at a
time it is simply one ``RPUSH`` per hit, as before.
"""

import logging
import os
import threading

from redis.exceptions import RedisError

#: How long a request waits for its hit to be written before answering anyway.
WAIT_SECONDS = 5.0
log = logging.getLogger(__name__)


class _Batch:
    def __init__(self):
        self.items = []
        self.done = threading.Event()
        self.ok = False


class HitPusher:
    """Pushes records onto one Redis list in batches, from a writer thread per process."""

    def __init__(self, redis, key):
        self.redis, self.key = redis, key
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a child starts its own writer

    def _reset(self):
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.batch = _Batch()
        self.writing = False

    def push(self, record):
        """Add ``record`` to the list; True once it is in Redis, False if that failed."""
        with self.lock:
            if not self.writing:
                threading.Thread(target=self._write_forever, name="hit-pusher", daemon=True).start()
                self.writing = True
            batch = self.batch
            batch.items.append(record)
            self.wake.notify()
        if not batch.done.wait(WAIT_SECONDS):
            log.error("a hit was not written to Redis within %s s", WAIT_SECONDS)
            return False
        return batch.ok

    def _write_forever(self):
        while True:
            with self.lock:
                while not self.batch.items:
                    self.wake.wait()
                batch, self.batch = self.batch, _Batch()
            self._write(batch)

    def _write(self, batch):
        try:
            self.redis.rpush(self.key, *batch.items)
            batch.ok = True
        except RedisError:
            log.exception("%d hits could not be written to Redis", len(batch.items))
        finally:
            batch.done.set()

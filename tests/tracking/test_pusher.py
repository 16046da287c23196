"""Group commit of hits: every hit is in Redis before its request is answered."""

import threading

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from designer.broker import get_redis
from designer.tracking.pusher import HitPusher

KEY = "designer:test:pusher"


def test_concurrent_pushes_all_land_in_fewer_writes(app):
    connection = get_redis()
    connection.delete(KEY)
    pusher = HitPusher(connection, KEY)
    writes = []
    real_write = pusher._write
    pusher._write = lambda batch: (writes.append(len(batch.items)), real_write(batch))
    answered = []

    def hit(n):
        for i in range(50):
            assert pusher.push(f"{n}-{i}")
            answered.append(connection.llen(KEY))  # already there when push returns

    threads = [threading.Thread(target=hit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [item.decode() for item in connection.lrange(KEY, 0, -1)]
    assert sorted(stored) == sorted(f"{n}-{i}" for n in range(8) for i in range(50))
    assert sum(writes) == 400 and len(answered) == 400 and min(answered) >= 1
    connection.delete(KEY)


def test_unreachable_redis_answers_false_and_says_so(caplog):
    # No retries: redis-py's default (jittered backoff, about 7 s in all) would outlast the
    # pusher's 5 s wait now and then, and the hit would be reported as late, not as lost.
    unreachable = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    pusher = HitPusher(unreachable, KEY)
    assert pusher.push("lost?") is False
    assert "could not be written to Redis" in caplog.text

"""``designer serve`` runs everything on embedded defaults and stops it all cleanly."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from support import ServedProduct, alive, wait_for

from designer.processes import descendants
from designer.serve import WEB_WORKERS


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


def test_serve_refuses_a_port_something_already_listens_on(tmp_path):
    served = ServedProduct(tmp_path)
    served.designer("db", "upgrade")
    with socket.socket() as other:
        other.bind(("127.0.0.1", served.port))
        other.listen()
        refused = subprocess.run(
            [sys.executable, "-m", "designer", "serve", "--port", str(served.port)],
            env=served.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert refused.returncode == 2, refused.stderr
    assert f"cannot serve on 127.0.0.1:{served.port}" in refused.stderr
    assert "already serving there" in refused.stderr
    assert not (tmp_path / "redis.sock").exists()  # nothing was started


def web_workers(served):
    """gunicorn's worker processes (children of its master), listening on the port."""
    workers = [
        psutil.Process(pid)
        for pid in descendants(served.process.pid)
        if b"gunicorn" in cmdline_of(pid) and b"gunicorn" in cmdline_of(parent_of(pid) or 0)
    ]
    return [
        worker
        for worker in workers
        if any(c.status == "LISTEN" for c in worker.net_connections(kind="tcp"))
    ]


def test_keep_alive_connections_opened_at_once_spread_over_the_web_workers(tmp_path):
    """A CRM opening its connections all at once: each web worker holds its share of
    them (each listens on its own socket, ``--reuse-port``), even one busy at that
    moment, instead of whichever worker was free taking them all for good."""
    served = ServedProduct(tmp_path)
    served.start()
    try:
        assert wait_for(lambda: len(web_workers(served)) == WEB_WORKERS, timeout=30)
        busy = web_workers(served)[0]
        busy.suspend()  # busy for a moment (a long page): the others must not take all
        try:
            connections = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(128)]
            time.sleep(0.5)
        finally:
            busy.resume()
        for connection in connections:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        for connection in connections:
            assert connection.recv(64).startswith(b"HTTP/1.1 ")  # accepted and answered
        ports = {connection.getsockname()[1] for connection in connections}
        held = Counter(
            worker.pid
            for worker in web_workers(served)
            for c in worker.net_connections(kind="tcp")
            if c.raddr and c.raddr.port in ports
        )
        for connection in connections:
            connection.close()
    finally:
        served.stop()
    assert sum(held.values()) == len(connections) and len(held) == WEB_WORKERS, held
    assert min(held.values()) >= len(connections) / WEB_WORKERS / 2, held


#: A pixel request (its token unsigned: answered with the GIF, nothing counted).
PIXEL_REQUEST = b"GET /o/unsigned.gif HTTP/1.1\r\nHost: a\r\n\r\n"


def read_answer(connection):
    """One whole answer (head and body, which may come in two reads); its status line."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += received(connection)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += received(connection)
    return head.split(b"\r\n", 1)[0]


def received(connection):
    chunk = connection.recv(4096)
    assert chunk, "the server closed the connection"
    return chunk


def worker_holding(served, connection):
    """The pid of the web worker serving ``connection`` (None while it is not accepted)."""
    port = connection.getsockname()[1]
    for worker in web_workers(served):
        if any(c.raddr and c.raddr.port == port for c in worker.net_connections(kind="tcp")):
            return worker.pid
    return None


def connect_beside(served, pid):
    """A keep-alive connection served by the worker ``pid`` (connections spread over them)."""
    for _ in range(40):
        connection = socket.create_connection(("127.0.0.1", served.port))
        connection.sendall(PIXEL_REQUEST)
        assert read_answer(connection) == b"HTTP/1.1 200 OK"
        if worker_holding(served, connection) == pid:
            return connection
        connection.close()
    raise AssertionError(f"no connection reached worker {pid}")


def test_a_connection_sending_back_to_back_does_not_keep_its_worker_from_the_others(
    served_behind_proxy,
):
    """1,500 requests pipelined on one connection (a proxy's or a CRM's busiest): a
    request on another connection of the same worker is answered while they are."""
    served, count = served_behind_proxy, 1500
    busy = socket.create_connection(("127.0.0.1", served.port))
    busy.sendall(PIXEL_REQUEST)
    assert read_answer(busy) == b"HTTP/1.1 200 OK"
    worker = worker_holding(served, busy)
    assert worker is not None
    other = connect_beside(served, worker)
    answered, stream = [0], bytearray()

    def read_busy():
        while answered[0] < count and (chunk := busy.recv(65536)):
            stream.extend(chunk)
            answered[0] = stream.count(b"HTTP/1.1 200")

    reader = threading.Thread(target=read_busy, daemon=True)
    reader.start()
    try:
        busy.sendall(PIXEL_REQUEST * count)  # 60 kB: in the server's buffer at once
        assert wait_for(lambda: answered[0] > 0, timeout=10, interval=0.001)  # worker on it
        other.sendall(PIXEL_REQUEST)
        assert read_answer(other) == b"HTTP/1.1 200 OK"
        answered_meanwhile = answered[0]
        reader.join(timeout=30)
        assert answered[0] == count  # all of them answered in the end
        assert answered_meanwhile < count // 2, answered_meanwhile
    finally:
        busy.close()
        other.close()

"""Open-pixel hits per second under gunicorn, and whether every hit is counted.

The product's app runs under gunicorn exactly as ``designer serve`` runs it
(gevent workers, same counts), on PostgreSQL and Redis, with a real worker
and scheduler flushing the hit buffer every few seconds as in production.
``wrk`` (64 connections on loopback) sends N pixel hits spread over the
signed pixel URLs of a few hundred sent messages; each wrk thread sends its
exact share and stops once every one of them has been answered (requests
issued after its share go to an empty 404 in front of Flask and are not
counted), so "sent" is exact. wrk's ``-d`` is only a cap: each thread leaves a
file when its share is answered, and wrk is stopped (SIGINT: it still reports)
once every thread has. After the run the buffer is flushed and the opens
stored in the database are compared with the hits sent: ``lost`` = sent -
counted.

In the same run the floor: ``/bench/bare.gif`` (``pixel_app.py``), the same
app answering the same GIF with no storage, under the same load.

    python bench/pixel.py [--n 30000] [--connections 64] [--sqlite]

Last line: ``RESULT hits_per_s=<n> p50_ms=<n> p99_ms=<n> lost=<n> ratio_to_bare=<r>``.
"""

import argparse
import json
import re
import shutil
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from campaign_env import BenchEnv, add_arguments, env_options, free_port

WRK = shutil.which("wrk") or "/usr/bin/wrk"
MESSAGES = 500
THREADS = 2
#: wrk drops a request unanswered after its timeout (2 s by default) and never sends it
#: again, so a thread would miss its share; on two busy cores an answer can take longer.
WRK_TIMEOUT = "30s"
AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"
#: Per wrk thread: its share of the paths, then 404s, stopping when the share is answered.
#: wrk itself runs for its whole ``-d`` unless interrupted, so each thread notes when it
#: sent its first request and when its last counted answer came (LuaJIT's FFI clock),
#: leaves ``<marker><thread>`` then, and ``done`` reads the times from every thread
#: (``thread:get``, as in wrk's own examples).
WRK_SCRIPT = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")
local function now_us()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
end
local paths = %(paths)s
local quota = %(quota)d
local marker = "%(marker)s"
local headers = {["User-Agent"] = "%(agent)s"}
local issued, offset, probed = 0, 0, false
answered, started_us, finished_us = 0, 0, 0
local threads, counter = {}, 0
function setup(thread)
  thread:set("offset", counter * 7919)
  thread:set("number", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  offset = tonumber(wrk.thread:get("offset")) or 0
end
function request()
  -- wrk calls request() once on the first thread's state before the run, to see
  -- whether the request is static; that request is never sent, so it is not counted.
  if offset == 0 and not probed then
    probed = true
    return wrk.format("GET", "/bench/none", headers)
  end
  issued = issued + 1
  if issued == 1 then started_us = now_us() end
  if issued <= quota then
    return wrk.format("GET", paths[(issued + offset) %% #paths + 1], headers)
  end
  return wrk.format("GET", "/bench/none", headers)
end
function response(status, headers, body)
  if status == 200 then answered = answered + 1 end
  if answered == quota and finished_us == 0 then
    finished_us = now_us()
    local mark = io.open(marker .. tostring(wrk.thread:get("number")), "w")
    mark:close()
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  local first, last, total = nil, 0, 0
  for _, thread in ipairs(threads) do
    local s, f = thread:get("started_us"), thread:get("finished_us")
    if first == nil or s < first then first = s end
    if f == 0 then last = -1 end
    if last >= 0 and f > last then last = f end
    total = total + thread:get("answered")
  end
  local e = summary.errors
  io.write(string.format(
    "WRK answered=%%d duration_us=%%d p50_us=%%d p99_us=%%d socket_errors=%%d\\n",
    total, last < 0 and -1 or last - first, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout))
end
"""


def sent_messages(env):
    """A few hundred sent messages of a campaign (not mailed: only their rows matter)."""
    from designer import campaigns
    from designer.broker import get_redis
    from designer.clock import utcnow
    from designer.extensions import db
    from designer.mail.models import Message

    campaign = env.populate(MESSAGES)
    campaigns.start(campaign)
    get_redis().flushdb()  # no worker is to send them
    an_hour_ago = utcnow() - timedelta(hours=1)
    db.session.execute(db.update(Message).values(state="sent", sent_at=an_hour_ago))
    db.session.commit()
    return list(db.session.scalars(db.select(Message.token)))


def pixel_paths(app, tokens):
    from designer.mail.links import signer_for

    signer = signer_for(app)
    return [signer.pixel_url(token).split("/o/", 1)[1] for token in tokens]


def run_wrk(env, port, paths, n, connections, expected):
    """``(seconds, p50 ms, p99 ms, hits)`` for exactly ``hits`` answered GETs of ``paths``.

    ``expected`` is how long the shares should take; wrk may run up to three times
    that plus a minute (a busy machine can stall a few answers for seconds), and is
    stopped as soon as every thread's share is answered.
    """
    quota = n // THREADS
    marker = env.instance / f"wrk-{len(paths)}-{n}-done-"
    script = env.instance / f"wrk-{len(paths)}-{n}.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "paths": "{" + ",".join(json.dumps(p) for p in paths) + "}",
            "quota": quota,
            "marker": marker,
            "agent": AGENT,
        }
    )
    cap = 3 * expected + 60
    command = [WRK, "-t", str(THREADS), "-c", str(connections), "-d", f"{cap:.0f}s"]
    command += ["--timeout", WRK_TIMEOUT, "--latency", "-s", str(script)]
    stdout = stop_when_answered(command + [f"http://127.0.0.1:{port}"], marker, cap)
    found = re.search(
        r"WRK answered=(\d+) duration_us=(-?\d+) p50_us=(\d+) p99_us=(\d+) "
        r"socket_errors=(\d+)",
        stdout,
    )
    if not found:
        raise RuntimeError(f"wrk said:\n{stdout}")
    answered, duration, p50, p99, errors = map(int, found.groups())
    if errors or duration < 0 or answered != quota * THREADS:
        raise RuntimeError(
            f"{answered} of {quota * THREADS} answered (wrk capped at {cap:.0f} s), "
            f"{errors} socket errors:\n{stdout}\n{env.logs()}"
        )
    return duration / 1e6, p50 / 1000, p99 / 1000, answered


def stop_when_answered(command, marker, cap):
    """wrk's output; interrupted (it still reports) once every thread left its marker."""
    wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    marks = [Path(f"{marker}{number}") for number in range(THREADS)]
    deadline = time.monotonic() + cap + 60
    while wrk.poll() is None and not all(mark.exists() for mark in marks):
        if time.monotonic() > deadline:
            wrk.kill()
            break
        time.sleep(0.05)
    if wrk.poll() is None:
        wrk.send_signal(signal.SIGINT)
    stdout, _ = wrk.communicate(timeout=60)
    return stdout


def warm_up(port, connections):
    """A few seconds of the bare route; returns its rate, to size the timed runs."""
    result = subprocess.run(
        [
            WRK,
            "-t",
            str(THREADS),
            "-c",
            str(connections),
            "-d",
            "3s",
            f"http://127.0.0.1:{port}/bench/bare.gif",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def counted_opens():
    """Flush what is left in the buffer; return the opens stored in the database."""
    from designer import tracking
    from designer.extensions import db
    from designer.mail.models import Message
    from designer.tracking import buffer

    deadline = time.monotonic() + 120
    while buffer.pending() and time.monotonic() < deadline:
        tracking.flush()
        time.sleep(0.1)
    total = db.session.scalar(db.select(db.func.sum(Message.open_count)))
    db.session.rollback()
    return int(total or 0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30_000, help="pixel hits (default 30000)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    with BenchEnv(**env_options(args)) as env:
        app = env.open_app()
        paths = ["/o/" + path for path in pixel_paths(app, sent_messages(env))]
        env.start_worker(0)
        env.start_scheduler()
        port = free_port()
        _, workers = env.start_web("pixel_app:app", port, "/bench/bare.gif")
        print(
            f"gunicorn: {workers}; wrk: {THREADS} threads, "
            f"{args.connections} connections; {env.database}, Redis; {len(paths)} messages"
        )
        rate = warm_up(port, args.connections)
        bare = run_wrk(env, port, ["/bench/bare.gif"], args.n, args.connections, args.n / rate)
        pixel = run_wrk(env, port, paths, args.n, args.connections, args.n / (0.3 * rate))
        counted = counted_opens()
    report(bare, pixel, counted)


def report(bare, pixel, counted):
    bare_rate = bare[3] / bare[0]
    rate = pixel[3] / pixel[0]
    lost = pixel[3] - counted
    print(
        f"bare route (same GIF, no storage): {bare_rate:,.0f} requests/s, "
        f"p50 {bare[1]:.1f} ms, p99 {bare[2]:.1f} ms"
    )
    print(
        f"pixel: {pixel[3]:,} hits in {pixel[0]:.2f} s = {rate:,.0f} hits/s, "
        f"p50 {pixel[1]:.1f} ms, p99 {pixel[2]:.1f} ms; counted {counted:,} after the flush"
    )
    print(
        f"RESULT hits_per_s={rate:.0f} p50_ms={pixel[1]:.1f} p99_ms={pixel[2]:.1f} "
        f"lost={lost} ratio_to_bare={rate / bare_rate:.2f}"
    )


if __name__ == "__main__":
    main()

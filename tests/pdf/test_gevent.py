"""The render time limit holds in a gevent-patched process, as under ``designer serve``.

A child process patches everything with gevent first (as gunicorn's gevent
worker does), then renders a huge table with a one-second limit while a
greenlet ticks every 50 ms: the error must come after about a second, and
the ticks prove the event loop kept running during the render.
"""

import json
import subprocess
import sys
import textwrap

from designer.pdf.render import RETRY_SECONDS

SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()

    import json
    import time

    import gevent

    from designer.pdf import PdfRenderError, render_pdf
    from designer.pdf.render import gevent_patched

    ticks = []

    def tick():
        while True:
            ticks.append(time.monotonic())
            gevent.sleep(0.05)

    ticker = gevent.spawn(tick)
    gevent.sleep(0)
    html = "<table>" + ("<tr>" + "<td>cell</td>" * 20 + "</tr>") * 10_000 + "</table>"
    started = time.monotonic()
    try:
        render_pdf(html, timeout=1)
        error = None
    except PdfRenderError as exc:
        error = str(exc)
    seconds = time.monotonic() - started
    during = sum(started < at < started + seconds for at in ticks)
    ticker.kill()
    small = render_pdf("<p>still works</p>", timeout=5)
    print(json.dumps({"patched": gevent_patched(), "error": error, "seconds": seconds,
                      "ticks": during, "small": small[:5].decode()}))
""")


def test_time_limit_works_under_gevent():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["patched"] is True
    assert outcome["error"] and "longer than 1 seconds" in outcome["error"]
    # The deadline, and at worst a few retries when the first interruption lands in a
    # destructor (which Python ignores) on a busy machine.
    assert 0.9 < outcome["seconds"] < 1 + 5 * RETRY_SECONDS + 0.5, outcome
    assert outcome["ticks"] >= 5, outcome  # the hub kept serving other greenlets
    assert outcome["small"] == "%PDF-"

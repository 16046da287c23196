"""``designer serve``: the whole product in one command.

Starts, in order: the embedded Redis (when no ``REDIS_URL``), the local SMTP
catcher (when no ``SMTP_URL``), an RQ worker and the scheduler as child
processes, then the web server in this process. Ctrl-C or SIGTERM stops all
of them; children also die with this process if it is killed outright, so
nothing is left behind.
"""

import ctypes
import signal
import subprocess
import sys
from contextlib import ExitStack, suppress

from werkzeug.serving import run_simple

PR_SET_PDEATHSIG = 1
CHILD_STOP_TIMEOUT = 10


def _die_with_parent():
    """Runs in each child before exec: SIGTERM it when the parent dies (Linux)."""
    with suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(command, *args):
    """Start ``python -m designer COMMAND ARGS`` with this process's environment."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "designer", command, *args],
        preexec_fn=_die_with_parent,
    )


def stop_process(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=CHILD_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def start_services(app, stack):
    """Embedded Redis, SMTP catcher, worker and scheduler; each stopped by ``stack``."""
    config = app.config
    if config["REDIS_EMBEDDED"]:
        from designer.embedded import EmbeddedRedis

        redis_server = EmbeddedRedis(config["INSTANCE_PATH"])
        redis_server.start()
        stack.callback(redis_server.stop)
        print(f"  redis    embedded, {redis_server.url}")
    else:
        print(f"  redis    {config['REDIS_URL']}")
    for command in ("worker", "scheduler"):
        stack.callback(stop_process, spawn(command, "--log-level", "WARNING"))
    print("  worker   RQ worker on the emails, pdf and periodic queues; scheduler every 15 s")
    if config["SMTP_CATCHER"]:
        from designer.mail.catcher import start_catcher

        controller = start_catcher(app)
        stack.callback(controller.stop)
        print(f"  mail     local SMTP catcher on {config['SMTP_URL']} (see the Outbox page)")
    else:
        print("  mail     outgoing server from SMTP_URL")


def serve(app, host, port):
    """Run everything until Ctrl-C / SIGTERM, then stop it all."""
    # Explicitly, since a shell may start us with SIGINT ignored (background jobs).
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    print(f"  database {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
    with ExitStack() as stack:
        try:
            start_services(app, stack)
            print(f"\nDesigner on http://{host}:{port}/  (Ctrl-C stops everything)")
            print("  logins   admin@example.com / demo (admin), marketer@example.com / demo"
                  " (marketer)\n", flush=True)
            run_simple(host, port, app, threaded=True, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            print("\nStopping Designer ...", flush=True)
    print("Stopped.")

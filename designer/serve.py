"""``designer serve``: the whole product in one command.

Starts the embedded Redis (when no ``REDIS_URL``) and the local SMTP catcher
(when no ``SMTP_URL``), then an RQ worker, the scheduler and the web server
(gunicorn) as child processes, and watches them. Ctrl-C or SIGTERM stops
everything; if one part dies, the rest is stopped too and the exit status
says so, except the embedded Redis: it is started again (its data kept in
its append-only file) and the worker and scheduler reconnect. Children die
with this process even if it is killed outright.

On any address but loopback it refuses to start while an account still has
the demo data's password; on loopback (``make run``) it prints those logins.
"""

import ipaddress
import os
import signal
import socket
import sys
import time
from contextlib import ExitStack

from designer.broker import QUEUES
from designer.processes import start_child, stop_child

#: Web server: one gevent worker process per core (at least two), each serving many
#: connections at once. Pages wait on the database and Redis cooperatively (psycopg 3
#: and redis-py yield under gevent), and the open pixel's hits share their Redis writes
#: (see ``designer.tracking.pusher``), which OS threads would serialise on the GIL.
WEB_WORKERS = max(2, min(4, os.cpu_count() or 2))
WEB_WORKER_CLASS = "gevent"
WEB_CONNECTIONS = 1000


class Interrupted(Exception):
    """Ctrl-C or SIGTERM."""


def _interrupt(signum, frame):
    raise Interrupted


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_logins(host):
    """``(email, role)`` of the accounts with the demo password, to print on loopback; on
    any other address their existence stops ``serve`` (``CommandError``, one line)."""
    from sqlalchemy.exc import SQLAlchemyError

    from designer.auth.accounts import demo_password_users
    from designer.cli import CommandError
    from designer.extensions import db

    try:
        logins = [(user.email, user.role) for user in demo_password_users()]
    except SQLAlchemyError as exc:
        if is_loopback(host):
            return []
        raise CommandError(
            "cannot check the accounts for demo passwords (run `designer db "
            f"upgrade` first): {str(exc).splitlines()[0]}"
        ) from None
    finally:
        db.session.remove()
    if logins and not is_loopback(host):
        emails = ", ".join(email for email, _ in logins)
        raise CommandError(
            f"not serving on {host}: {emails} still use the demo password "
            "`demo`; set real passwords with `designer user passwd EMAIL` "
            "(or serve on 127.0.0.1)"
        )
    return logins


def designer_child(command, *args):
    return start_child([sys.executable, "-m", "designer", command, *args])


def web_options(host, port):
    """gunicorn's options for the web server on ``host:port``.

    ``--reuse-port``: each worker listens on a socket of its own (``SO_REUSEPORT``)
    and the kernel spreads new connections over them evenly. With one shared
    socket, whichever worker woke first took them: a CRM opening 64 keep-alive
    connections at once could leave 52 on one worker and 12 on the other, whose
    requests then waited four times as long (``bench/hooks.py``).

    ``designer.gunicorn_hooks``: no connection keeps its worker to itself.
    """
    return [
        "--config",
        "python:designer.gunicorn_hooks",
        "--bind",
        f"{host}:{port}",
        "--reuse-port",
        "--workers",
        str(WEB_WORKERS),
        "--worker-class",
        WEB_WORKER_CLASS,
        "--worker-connections",
        str(WEB_CONNECTIONS),
        "--graceful-timeout",
        "5",
    ]


def web_child(host, port):
    argv = [sys.executable, "-m", "gunicorn", "designer.wsgi:app", *web_options(host, port)]
    return start_child([*argv, "--log-level", "warning"])


def check_port_free(host, port):
    """``CommandError`` when something already listens on ``host:port``: with
    ``--reuse-port`` a second server would share the port instead of failing."""
    from designer.cli import CommandError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(
                f"cannot serve on {host}:{port}: {exc.strerror or exc} (is Designer or another "
                "program already serving there? stop it, or choose another --port)"
            ) from None


def start_services(app, stack):
    """Embedded Redis and the SMTP catcher, stopped by ``stack``; prints what runs where.
    Return the embedded Redis, or None."""
    config = app.config
    redis_server = None
    if config["REDIS_EMBEDDED"]:
        from designer.embedded import EmbeddedRedis

        redis_server = EmbeddedRedis(config["INSTANCE_PATH"])
        redis_server.start()
        stack.callback(redis_server.stop)
        print(f"  redis    embedded, {redis_server.url}")
    else:
        print(f"  redis    {config['REDIS_URL']}")
    if config["SMTP_CATCHER"]:
        from designer.mail.catcher import start_catcher

        controller = start_catcher(app)
        stack.callback(controller.stop)
        print(f"  mail     local SMTP catcher on {config['SMTP_URL']} (see the Outbox page)")
    else:
        print("  mail     outgoing server from SMTP_URL")
    return redis_server


def start_children(stack, host, port):
    """Worker, scheduler and web server; return them by name."""
    children = {
        "worker": designer_child("worker", "--log-level", "WARNING"),
        "scheduler": designer_child("scheduler", "--log-level", "WARNING"),
        "web": web_child(host, port),
    }
    for child in children.values():
        stack.callback(stop_child, child)
    print(f"  worker   RQ worker on the {', '.join(QUEUES)} queues; scheduler")
    return children


def watch(children, redis_server=None):
    """Return the name of the first child that exits on its own; start the embedded
    ``redis_server`` again whenever it stops."""
    while True:
        for name, child in children.items():
            if child.poll() is not None:
                return name
        if redis_server is not None and not redis_server.running():
            print("The embedded Redis stopped; starting it again.", file=sys.stderr, flush=True)
            try:
                redis_server.start()
            except RuntimeError:
                return "embedded Redis"
        time.sleep(0.5)


def serve(app, host, port):
    """Run everything until Ctrl-C / SIGTERM (exit 0) or until a part dies (exit 1)."""
    logins = demo_logins(host)
    check_port_free(host, port)
    # Explicitly, since a shell may start us with SIGINT ignored (background jobs).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"  database {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
    failed = None
    with ExitStack() as stack:
        try:
            redis_server = start_services(app, stack)
            children = start_children(stack, host, port)
            print(f"\nDesigner on http://{host}:{port}/  (Ctrl-C stops everything)")
            for number, (email, role) in enumerate(logins):
                print(f"  {'logins' if number == 0 else '':9}{email} / demo ({role})")
            print(flush=True)
            failed = watch(children, redis_server)
            print(f"\nThe {failed} process stopped unexpectedly.", file=sys.stderr)
        except Interrupted:
            pass
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            print("\nStopping Designer ...", flush=True)
    print("Stopped.", flush=True)
    if failed:
        sys.exit(1)

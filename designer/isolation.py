"""Work on user input that a web request needs done, run in a child process.

Compiling a template (MRML, css-inline), merging it for a preview and
rendering a PDF (WeasyPrint) run code that a hostile template can push to
its limits: native code may overflow its stack and kill the process, a
render may run long, memory may run out. While a request is being served,
``run`` does such work in a forked child: the child gets a memory limit and a
lower CPU priority, the request waits for it (cooperatively under gevent, so
the web worker keeps serving pixels and pages meanwhile), and a crash, a hang
past ``timeout`` or an exhausted memory limit ends the child with an
``IsolatedFailure`` saying which, never the web worker.

Outside a request (workers, the command line, the child itself) the work
runs in the calling process: workers have their own bounds (the sandbox's
limits, WeasyPrint's watchdog, the job timeout).

The child shares the parent's open sockets (database, Redis, the request's
client), and anything that touches one of them — a query, or merely a
finalizer closing a connection — would corrupt the parent's. So work handed
to ``run`` takes plain data; the garbage collector is off in the child (it
would finalize the parent's idle connections); a query in the child is
refused before anything is sent; and the child ends with ``os._exit``,
closing nothing.

Under gevent the child also holds copies of every greenlet the web worker
had: the worker's own loop (which ends the process when it sees its parent
changed), the listener accepting connections, other requests. Any yield to
the event loop (a patched lock that is busy, even a failed non-blocking
acquire inside cffi) would let them run in the child. So the work runs in a
fresh OS thread, whose event loop (gevent keeps one per thread) has none of
them, while the child's first thread waits on a raw lock that never yields.
"""

import contextlib
import contextvars
import faulthandler
import gc
import os
import pickle
import resource
import select
import signal
import time

from flask import current_app, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

from designer.threads import os_thread_api

#: Memory a child may use on top of what the web worker already has, in MB.
CHILD_MEMORY_MB = 1024
#: Niceness added to a child, so that pages and pixels come first.
CHILD_NICE = 5
READ_SIZE = 1 << 20

_in_child = False


class IsolatedFailure(Exception):
    """The child died, ran out of time or memory; ``str()`` is a message for people."""


def wanted():
    """Whether work asked for now runs in a child: while serving a request (and not in a
    child already), unless the ``ISOLATE_REQUESTS`` setting is off."""
    return (
        not _in_child and has_request_context() and current_app.config.get("ISOLATE_REQUESTS", True)
    )


def in_child():
    return _in_child


def run(function, *args, timeout=30.0, what="the work"):
    """``function(*args)``: in a child process when ``wanted()``, else right here.

    Exceptions ``function`` raises in the child are raised here (they must be
    picklable); ``IsolatedFailure`` names ``what`` failed and why.
    """
    if not wanted():
        return function(*args)
    return _run_in_child(function, args, timeout, what)


def _run_in_child(function, args, timeout, what):
    read_end, write_end = os.pipe()
    collecting = gc.isenabled()
    gc.disable()  # not for a moment in the child: see the module's docstring
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_end)
        _child(write_end, function, args)
    if collecting:
        gc.enable()
    os.close(write_end)
    try:
        data = _receive(read_end, time.monotonic() + timeout)
    except TimeoutError:
        _kill(pid)
        raise IsolatedFailure(
            f"{what} took longer than {timeout:g} seconds and was stopped"
        ) from None
    finally:
        os.close(read_end)
    status = _wait(pid)
    return _outcome(data, status, what)


def _child(write_end, function, args):
    """Run in the forked child: never returns."""
    global _in_child
    _in_child = True
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        faulthandler.disable()  # a crash is reported by the parent, in words
        _limit_memory(CHILD_MEMORY_MB)
        os.nice(CHILD_NICE)
        _send(write_end, _call_alone(function, args))
    finally:
        os._exit(0)


def _call_alone(function, args):
    """``("ok", result)`` or ``("error", exception)`` of ``function(*args)``, called in a
    new OS thread (in the caller's context: Flask's app and request) while this
    thread blocks without yielding to any event loop."""
    start_thread, allocate_lock, _ = os_thread_api()
    done = allocate_lock()
    done.acquire()
    context = contextvars.copy_context()
    outcome = []

    def work():
        try:
            outcome.append(("ok", context.run(function, *args)))
        except Exception as exc:
            outcome.append(("error", exc))
        except BaseException as exc:  # ends the work, not the child: say what it was
            outcome.append(("error", IsolatedFailure(f"the work was ended by {exc!r}")))
        finally:
            done.release()

    start_thread(work, ())
    done.acquire()
    return outcome[0]


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_queries_in_child(connection, cursor, statement, parameters, context, executemany):
    """The database connections belong to the parent: a query here would interleave
    with the parent's on the same socket."""
    if _in_child:
        raise IsolatedFailure("work in a child process cannot use the database")


def _limit_memory(megabytes):
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[0])
    limit = pages * resource.getpagesize() + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _send(write_end, result):
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an unpicklable result or exception
        data = pickle.dumps(("error", IsolatedFailure(f"{type(exc).__name__}: {exc}")))
    view = memoryview(data)
    while view:
        view = view[os.write(write_end, view) :]


def _receive(read_end, deadline):
    """All the child wrote, waiting cooperatively (``select`` is gevent's when patched)."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([read_end], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(read_end, READ_SIZE)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _kill(pid):
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait(pid)


def _wait(pid):
    while True:
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue


def _outcome(data, status, what):
    if os.WIFSIGNALED(status) or not data:
        raise IsolatedFailure(
            f"{what} crashed ({_cause(status)}); nothing was changed. "
            "Simplify the template (less nesting, fewer or smaller "
            "images) and try again"
        )
    kind, value = pickle.loads(data)  # noqa: S301 - written by our own child
    if kind == "error":
        if isinstance(value, MemoryError):
            raise IsolatedFailure(
                f"{what} needed more than {CHILD_MEMORY_MB} MB of memory and was stopped"
            )
        raise value
    return value


def _cause(status):
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return f"signal {number}, {signal.Signals(number).name}"
    return f"exit status {os.WEXITSTATUS(status)}"

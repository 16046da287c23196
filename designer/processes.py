"""Child processes that must never outlive the process that started them.

Each child gets its own process group (so a terminal's Ctrl-C reaches only
the supervisor, which then stops each child once, in order) and, on Linux,
a parent-death signal, so it is terminated even if the supervisor is killed
outright.
"""

import ctypes
import os
import signal
import subprocess
from contextlib import suppress

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 10


def _die_with_parent():
    """Runs in the child before exec: SIGTERM it when the parent dies (Linux)."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_child(argv, **kwargs):
    """Start ``argv`` in its own process group, bound to this process's life."""
    return subprocess.Popen(  # noqa: S603 - callers pass fixed argument lists
        argv, process_group=0, preexec_fn=_die_with_parent, **kwargs
    )


def stop_child(process, timeout=STOP_TIMEOUT):
    """SIGTERM, wait, then SIGKILL if it does not stop; return its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def descendants(pid):
    """Process ids of every live descendant of ``pid`` (from /proc)."""
    children = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found

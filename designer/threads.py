"""Real OS threads in a process that gevent may have patched.

``designer serve`` runs gunicorn's gevent workers, which patch ``threading``
and ``_thread``: a patched thread is a greenlet, a patched lock yields to the
event loop, a patched ``get_ident`` names a greenlet. Code that needs a real
thread (a watchdog that must run while the caller computes, a thread with an
event loop of its own) takes the interpreter's primitives from here.
"""

import _thread
import sys


def gevent_patched():
    """Whether gevent has monkey-patched ``threading`` in this process."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def os_thread_api():
    """``(start_new_thread, allocate_lock, get_ident)`` of real OS threads.

    gevent's originals when it has patched them: the patched ones are greenlets.
    """
    if gevent_patched():
        from gevent import monkey

        return tuple(
            monkey.get_original("_thread", ["start_new_thread", "allocate_lock", "get_ident"])
        )
    return _thread.start_new_thread, _thread.allocate_lock, _thread.get_ident

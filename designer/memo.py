"""Values looked up once for a unit of work: a batch of events (``memo.scope``).

Inside ``scope()``, ``remembered(key, load)`` calls ``load`` the first time a
key is asked for and gives the same value after, so the hundreds of runs of a
batch read a setting or the admin user once, not once each. Outside a scope it
simply calls ``load``: a page or a single job always reads what is stored now.
"""

import contextvars
from contextlib import contextmanager

_SCOPE = contextvars.ContextVar("memo_scope", default=None)


@contextmanager
def scope():
    """Remember looked-up values until the end of the block (nested: the outer one)."""
    if _SCOPE.get() is not None:
        yield
        return
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def remembered(key, load):
    """``load()``, once per ``key`` inside a scope."""
    values = _SCOPE.get()
    if values is None:
        return load()
    if key not in values:
        values[key] = load()
    return values[key]

"""Render merged template HTML to PDF bytes, fetching nothing, within time and size limits.

All URLs go through ``AssetFetcher`` (``data:`` URIs and stored assets only).
The stored assets the HTML and CSS name are read through ``lookup`` *before*
rendering, in the caller's thread (``fetcher.prefetch_assets``), so the render
itself never touches the caller's database session and may run in any thread.

Time limit: a watchdog thread, started per render, waits ``timeout`` seconds
and then raises an exception *inside the rendering thread* with CPython's
``PyThreadState_SetAsyncExc``. WeasyPrint is pure Python between short calls
into Pango, Pillow and zlib, so the exception lands within milliseconds;
because WeasyPrint swallows any exception while drawing an SVG image, the
watchdog repeats it every ``RETRY_SECONDS`` until the render has stopped.
Unlike ``signal.setitimer`` this works on any thread (threaded dev server,
gthread workers, RQ, tests) and leaves the process's ``SIGALRM`` /
``ITIMER_REAL`` alone, which RQ uses for its own job timeout; unlike a child
process it costs one short-lived thread (well under a millisecond). Neither
a signal nor this can stop a single long call inside C code; such calls are
bounded by the input (resources are capped by the fetcher) and, as a last
resort, by the job's or worker's own timeout.

Under gevent (``designer serve`` runs gunicorn with gevent workers) a patched
``threading.Thread`` is a greenlet that would never run during a CPU-bound
render, and the patched ``get_ident`` names a greenlet, not a thread. So the
watchdog always uses the interpreter's own thread primitives (gevent's
originals when it has patched them), and under gevent the render runs in a
real OS thread of the hub's thread pool, which keeps the event loop free to
serve other requests meanwhile.

Size limit: the PDF is written into a buffer that refuses to grow past
``max_bytes``, so an oversized document stops while it is being written.
"""

import ctypes
import io

import weasyprint
from weasyprint.text.fonts import FontConfiguration

from designer import isolation
from designer.pdf.fetcher import AssetFetcher, prefetch_assets
from designer.templating.nesting import TooDeep, check_nesting
from designer.threads import gevent_patched, os_thread_api

#: Base URL for relative asset paths when the app's public URL is not given.
#: ``.invalid`` never resolves; nothing is fetched from it anyway.
FALLBACK_BASE_URL = "http://designer.invalid/"
#: After the deadline the watchdog interrupts again this often until the render stops.
RETRY_SECONDS = 0.2
MEGABYTE = 1024 * 1024

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc


class PdfRenderError(Exception):
    """The PDF could not be made; ``str()`` is a message for the template's author."""


class _Timeout(BaseException):
    """Raised in the rendering thread at the deadline (not an ``Exception``: not swallowed)."""


class _Dropped(BaseException):
    """Sent by the watchdog's ``stop`` in place of an interruption not yet delivered, and
    caught there at once."""


class _TooLarge(BaseException):
    """Raised while writing once the PDF passes its size limit."""


class _CappedBuffer(io.BytesIO):
    """A byte buffer that raises ``_TooLarge`` instead of growing past ``limit``."""

    def __init__(self, limit):
        super().__init__()
        self.limit = limit

    def write(self, data):
        if self.tell() + len(data) > self.limit:
            raise _TooLarge
        return super().write(data)


class _Watchdog:
    """Interrupts the thread that created it once ``seconds`` have passed, until stopped.

    Built on raw OS locks only (no ``threading.Event``, which gevent replaces):
    ``_done`` is held until ``stop`` releases it, so waiting on it with a
    timeout is the watchdog's sleep.
    """

    def __init__(self, seconds):
        self._start_thread, allocate_lock, get_ident = os_thread_api()
        self.seconds = seconds
        self.target = get_ident()
        self.expired = False
        self._finished = False
        self._stopped = False
        self._done = allocate_lock()
        self._done.acquire()
        self._lock = allocate_lock()

    def start(self):
        self._start_thread(self._watch, ())

    def _watch(self):
        delay = self.seconds
        while not self._done.acquire(timeout=delay):
            with self._lock:
                if self._finished:
                    return
                self.expired = True
                _set_async_exc(ctypes.c_ulong(self.target), ctypes.py_object(_Timeout))
            delay = RETRY_SECONDS

    def stop(self):
        """Stop interrupting and drop an interruption not yet delivered.

        Once ``_finished`` is set under the lock no new interruption can be
        made, so dropping the pending one there leaves none behind. Before
        the deadline nothing was sent, so there is nothing to drop.
        """
        while not self._stopped:
            try:
                with self._lock:
                    self._finished = True
                    if self.expired:
                        _drop_pending(self.target)
                    self._stopped = True
            except _Timeout:
                continue
        self._done.release()


def _drop_pending(target):
    """Replace an interruption not yet delivered to this thread by one caught here.

    ``PyThreadState_SetAsyncExc(id, NULL)`` would clear it, but on Python 3.11 it
    leaves the interpreter's pending-exception flag set with no exception behind
    it, and the next Python function called under a tracer (a debugger, a
    profiler, coverage) never returns. An exception sent to this thread is
    delivered at the loop's first jump back, which lowers the flag.
    """
    try:
        _set_async_exc(ctypes.c_ulong(target), ctypes.py_object(_Dropped))
        for _ in range(1_000_000):
            pass
    except _Dropped:
        return


def call_with_deadline(seconds, function, *args):
    """``function(*args)``, interrupted after ``seconds``: then ``TimeoutError``."""
    watchdog = _Watchdog(seconds)
    result = None
    try:
        watchdog.start()
        result = function(*args)
    except _Timeout:
        pass
    finally:
        watchdog.stop()
    if watchdog.expired:
        raise TimeoutError(f"took longer than {seconds:g} s")
    return result


def call_in_os_thread(function, *args):
    """``function(*args)`` in a real OS thread when gevent is active, else right here.

    Under gevent the calling greenlet waits on the hub's thread pool, so other
    greenlets keep running while ``function`` works.
    """
    if not gevent_patched():
        return function(*args)
    import gevent

    return gevent.get_hub().threadpool.apply(function, args)


def _check_nesting(html):
    try:
        check_nesting(html, "html")
    except TooDeep as exc:
        raise PdfRenderError(
            f"The PDF cannot be laid out: line {exc.line} of the merged document: {exc}."
        ) from None


def base_url_for(public_url):
    """The base URL relative references (``/assets/1/logo.png``) are resolved against."""
    return public_url.rstrip("/") + "/" if public_url else FALLBACK_BASE_URL


def _write(html, stylesheets, fetcher, base_url, max_bytes):
    """Lay out and write the PDF into a capped buffer; return its bytes."""
    font_config = FontConfiguration()
    css = [
        weasyprint.CSS(
            string=source, base_url=base_url, url_fetcher=fetcher, font_config=font_config
        )
        for source in stylesheets
    ]
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    output = _CappedBuffer(max_bytes)
    document.write_pdf(output, stylesheets=css, font_config=font_config)
    return output.getvalue()


def render_pdf(
    html,
    *,
    lookup=None,
    public_url="",
    stylesheets=(),
    timeout=20.0,
    max_bytes=50 * MEGABYTE,
    refused=None,
    assets=None,
):
    """PDF bytes of merged template ``html``, loading only ``data:`` URIs and stored assets.

    ``lookup(asset_id) -> (bytes, content_type) | None`` reads stored assets
    (``fetcher.stored_asset`` for the app's database; ``None``: no assets); it
    is called here, before rendering, for each asset the HTML and CSS name;
    ``public_url`` is the app's ``PUBLIC_URL``. ``stylesheets`` are extra CSS
    sources (strings). URLs that were not loaded are appended to the list
    ``refused`` when one is given. ``assets`` (``{asset_id: (bytes, type) | None}``)
    are assets read beforehand, for a render that cannot read the database (in a
    child process). Raises ``PdfRenderError`` when rendering takes longer than
    ``timeout`` seconds, the PDF would exceed ``max_bytes``, the markup nests
    deeper than WeasyPrint can lay out, or WeasyPrint fails.
    """
    if not all(isinstance(source, str) for source in stylesheets):
        raise TypeError("stylesheets must be CSS source strings")
    _check_nesting(html)
    base_url = base_url_for(public_url)
    if assets is None:
        assets = prefetch_assets(lookup, html, *stylesheets) if lookup else None
    fetcher = AssetFetcher(
        assets.get if assets is not None else None, public_url=public_url, base_url=base_url
    )
    try:
        if isolation.in_child():  # the parent stops the whole process at its deadline
            return _write(html, stylesheets, fetcher, base_url, max_bytes)
        return call_in_os_thread(
            call_with_deadline, timeout, _write, html, stylesheets, fetcher, base_url, max_bytes
        )
    except TimeoutError:
        raise PdfRenderError(
            f"The PDF took longer than {timeout:g} seconds to render. Make the template "
            "lighter: fewer pages, smaller tables, smaller images."
        ) from None
    except _TooLarge:
        raise PdfRenderError(
            f"The PDF would be larger than {max_bytes / MEGABYTE:g} MB. Use fewer or "
            "smaller images, or fewer pages."
        ) from None
    except Exception as error:
        raise PdfRenderError(f"The PDF could not be rendered: {error}") from error
    finally:
        if refused is not None:
            refused.extend(fetcher.refused)

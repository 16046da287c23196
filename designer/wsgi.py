"""WSGI entry point for production servers: ``gunicorn designer.wsgi:app``."""

import gc

from designer import create_app

app = create_app()
# Everything built so far (modules, the app, its templates) lives as long as the
# process: keep the cyclic garbage collector off it, so that its full collections
# stay short and do not stall the requests in flight (the pixel's p99).
gc.collect()
gc.freeze()

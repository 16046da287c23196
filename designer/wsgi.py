"""WSGI entry point for production servers: ``gunicorn designer.wsgi:app``."""

import gc

from designer import create_app
from designer.extensions import open_pool
from designer.instance import make_private, use_private_umask

use_private_umask()  # what the web server writes (a SQLite database) is the account's only
app = create_app()
make_private(app.config["INSTANCE_PATH"])
open_pool(app)  # each worker imports this module: its connections ready before its first request
# Everything built so far (modules, the app, its templates) lives as long as the
# process: keep the cyclic garbage collector off it, so that its full collections
# stay short and do not stall the requests in flight (the pixel's p99).
gc.collect()
gc.freeze()

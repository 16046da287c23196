"""gunicorn's server hooks for the web server ``designer serve`` starts.

A gevent worker serves each connection in a greenlet that runs until it must
wait. A keep-alive connection whose next request is already there when the
answer goes out (a proxy's pooled connection, a CRM or a mail client firing
requests back to back, pipelined requests) never waits: without a pause its
greenlet would answer request after request while the worker's other
connections, ready too, waited for it to run dry. After each answer the
greenlet steps back once, behind what else is ready.
"""

import gevent


def post_request(worker, req, environ, resp):
    """Let the worker's other ready connections go first before reading the next request."""
    gevent.sleep(0)

"""The Redis connection behind RQ: one client per app, created lazily.

Nothing connects at import or in ``create_app``; redis-py opens its first
connection on first use. With no ``REDIS_URL`` the URL names the embedded
server's unix socket in the instance folder (see ``designer.embedded``).
"""

from flask import current_app
from redis import Redis


def init_app(app):
    """Create the app's Redis client from ``REDIS_URL``."""
    app.extensions["redis"] = Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=5, health_check_interval=30
    )


def get_redis():
    """Return the current app's Redis client."""
    return current_app.extensions["redis"]

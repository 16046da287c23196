"""Flask extensions shared by every part, created unbound and wired in ``create_app``."""

import logging
from functools import cache

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of every table."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
log = logging.getLogger(__name__)


@cache
def insert_ignoring(dialect, table, columns):
    """``INSERT … ON CONFLICT (columns) DO NOTHING`` into ``table`` for ``dialect``
    ("postgresql" or "sqlite"), built once (its compiled form is cached with it)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=list(columns))


def open_pool(app):
    """Open the database pool's ``pool_size`` connections now (PostgreSQL; a no-op on
    SQLite): a web worker's first burst of requests then finds them ready, instead of
    waiting while all of them connect at once. A database that does not answer is
    logged, not raised: the worker starts all the same and connects when it can."""
    size = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_size", 0)
    with app.app_context():
        try:
            opened = [db.engine.connect() for _ in range(size)]
        except SQLAlchemyError as exc:
            log.warning("the database pool could not be opened ahead: %s", exc)
            return 0
        for connection in opened:
            connection.close()  # back to the pool, kept open
    return len(opened)

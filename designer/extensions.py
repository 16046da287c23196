"""Flask extensions shared by every part, created unbound and wired in ``create_app``."""

from functools import cache

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of every table."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


@cache
def insert_ignoring(dialect, table, columns):
    """``INSERT … ON CONFLICT (columns) DO NOTHING`` into ``table`` for ``dialect``
    ("postgresql" or "sqlite"), built once (its compiled form is cached with it)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=list(columns))

"""The Alembic migrations build the schema the models describe: nothing missing, nothing extra."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from designer.extensions import db


def _differences():
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        return compare_metadata(context, db.metadata)


def test_migrations_match_the_models(app):
    found = [diff for diff in _differences() if not _benign(diff)]
    assert not found, "\n".join(repr(diff) for diff in found)


def _benign(diff):
    """Differences that do not change behaviour: SQLite names no foreign keys and unique
    constraints the way PostgreSQL reflects them."""
    kind = diff[0] if isinstance(diff, tuple) else None
    return db.engine.dialect.name == "sqlite" and kind in (
        "add_fk",
        "remove_fk",
        "add_constraint",
        "remove_constraint",
    )

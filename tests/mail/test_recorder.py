"""The recorder: each write committed on a connection of its own; on PostgreSQL sent
without waiting and its outcome (or error) read by the next ``wait``, so a worker never
has more than one outcome unrecorded. Values of each kind are written as given."""

from datetime import datetime

import pytest
from sqlalchemy import String, bindparam, literal_column, text, update
from test_ledger import queue, reloaded

from designer.extensions import db
from designer.mail.models import Message
from designer.mail.recorder import Recorder

BY_ID = update(Message).where(Message.id == bindparam("row_id"))
SET_TOKEN = BY_ID.values(token=bindparam("token"))
SET_STATE = BY_ID.values(state=bindparam("state"))
#: The error of a unique token written twice, on PostgreSQL or SQLite.
TAKEN = r"duplicate key|UNIQUE constraint"


def on_postgresql():
    return db.engine.dialect.name == "postgresql"


def postgresql_only():
    if not on_postgresql():
        pytest.skip("the pipelined writes are PostgreSQL's")


@pytest.fixture
def two_rows(welcome, people):
    return queue(welcome, people.jan, people.admin), queue(welcome, people.emma, people.admin)


def taken_token(rows):
    """A write that fails: the first row given the second's (unique) token."""
    first, second = rows
    return SET_TOKEN, {"row_id": first.id, "token": second.token}


def test_a_write_is_committed_for_every_reader_once_the_recorder_has_waited(two_rows):
    first, _ = two_rows
    with Recorder() as recorder:
        recorder.execute(SET_STATE, {"row_id": first.id, "state": "sent"})
        recorder.wait()
        assert reloaded(first).state == "sent"


def test_leaving_the_block_waits_for_the_last_write(two_rows):
    first, second = two_rows
    with Recorder() as recorder:
        recorder.execute(SET_STATE, {"row_id": first.id, "state": "sent"})
        recorder.execute(SET_STATE, {"row_id": second.id, "state": "failed"})
    assert (reloaded(first).state, reloaded(second).state) == ("sent", "failed")


def test_a_failed_write_is_raised_by_the_next_wait_not_by_the_write(two_rows):
    postgresql_only()
    statement, params = taken_token(two_rows)
    with Recorder() as recorder:
        recorder.execute(statement, params)  # sent; its answer not read yet
        with pytest.raises(Exception, match=TAKEN):
            recorder.wait()
        recorder.wait()  # read once: the error is not raised again
    assert reloaded(two_rows[0]).token != two_rows[1].token


def test_the_next_write_waits_for_the_one_before_it_and_raises_its_error(two_rows):
    postgresql_only()
    statement, params = taken_token(two_rows)
    with Recorder() as recorder:
        recorder.execute(statement, params)
        with pytest.raises(Exception, match=TAKEN):
            recorder.execute(SET_STATE, {"row_id": two_rows[1].id, "state": "sent"})
    assert reloaded(two_rows[1]).state == "queued"  # not written after the error


def test_a_failed_last_write_is_raised_when_the_block_ends(two_rows):
    statement, params = taken_token(two_rows)
    with pytest.raises(Exception, match=TAKEN), Recorder() as recorder:
        recorder.execute(statement, params)
    assert reloaded(two_rows[0]).token != two_rows[1].token


def test_an_error_inside_the_block_is_not_hidden_by_a_failed_write(two_rows):
    postgresql_only()
    statement, params = taken_token(two_rows)
    with pytest.raises(LookupError, match="the batch's own"), Recorder() as recorder:
        recorder.execute(statement, params)
        raise LookupError("the batch's own")


def test_the_connection_goes_back_to_the_pool_even_after_a_failed_write(two_rows):
    statement, params = taken_token(two_rows)
    second = two_rows[1].id
    db.session.commit()  # the session's own connection back in the pool too
    checked_out = db.engine.pool.checkedout()
    with pytest.raises(Exception, match=TAKEN), Recorder() as recorder:
        recorder.execute(statement, params)
    with Recorder() as recorder:
        recorder.execute(SET_STATE, {"row_id": second, "state": "sent"})
    assert db.engine.pool.checkedout() == checked_out


def test_a_statement_the_database_refuses_is_raised_at_once_and_writing_goes_on(two_rows):
    with Recorder() as recorder:
        with pytest.raises(Exception, match="no_such_table"):
            recorder.execute(text("UPDATE no_such_table SET x = :x"), {"x": 1})
        recorder.execute(SET_STATE, {"row_id": two_rows[0].id, "state": "sent"})
    assert reloaded(two_rows[0]).state == "sent"


def test_a_later_batch_on_the_same_connection_writes_the_same_statement(two_rows):
    postgresql_only()
    db.session.commit()
    db.engine.dispose()  # one connection in the pool: both batches get it
    backends = []
    for row, state in zip(two_rows, ("sent", "failed"), strict=True):
        with Recorder() as recorder:
            backends.append(recorder.connection.execute(text("SELECT pg_backend_pid()")).scalar())
            recorder.execute(
                SET_STATE,
                {"row_id": row.id, "state": state},
            )
    assert backends[0] == backends[1]
    assert (reloaded(two_rows[0]).state, reloaded(two_rows[1]).state) == ("sent", "failed")


@pytest.mark.parametrize("flag", [True, False])
def test_values_of_each_kind_are_written_as_given(two_rows, flag):
    first, _ = two_rows
    when = datetime(2026, 3, 2, 9, 30, 0, 123456)
    with Recorder() as recorder:
        recorder.execute(
            BY_ID.values(test=bindparam("flag")), {"row_id": first.id, "flag": not flag}
        )
        recorder.execute(
            BY_ID.values(
                test=bindparam("flag"),
                attempts=bindparam("attempts"),
                last_error=bindparam("error"),
                next_attempt_at=bindparam("at"),
                lease_until=bindparam("until"),
            ),
            {
                "row_id": first.id,
                "flag": flag,
                "attempts": 3,
                "error": "100% sure: %(x)s",
                "at": when,
                "until": None,
            },
        )
    row = reloaded(first)
    assert row.test is flag and row.attempts == 3
    assert row.last_error == "100% sure: %(x)s"
    assert row.next_attempt_at == when and row.lease_until is None


def test_a_percent_sign_in_a_statement_s_text_is_written_once(two_rows):
    first, _ = two_rows
    with Recorder() as recorder:
        recorder.execute(
            BY_ID.values(last_error=literal_column("'100%'", String) + bindparam("rest")),
            {"row_id": first.id, "rest": " done"},
        )
    assert reloaded(first).last_error == "100% done"


def test_without_postgresql_s_driver_each_write_is_committed_at_once(app_with, tmp_path):
    other = app_with(DATABASE_URL=f"sqlite:///{tmp_path / 'other.db'}")
    with other.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        with Recorder() as recorder:
            recorder.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": "one"})
            with db.engine.connect() as conn:  # before any wait: written already
                assert conn.execute(text("SELECT body FROM notes")).scalars().all() == ["one"]

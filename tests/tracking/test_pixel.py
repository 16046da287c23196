"""The open pixel: always the GIF, counts only signed tokens, buffered without loss."""

import re
import threading

import pytest
from support import log_in, pixel_path

from designer import mail, tracking
from designer.broker import get_redis
from designer.extensions import db
from designer.tracking import PIXEL_GIF, buffer
from designer.tracking.models import TrackingEvent


@pytest.fixture
def message(app, welcome, people):
    return mail.queue_message(
        welcome.current,
        module="contact",
        record=people.jan,
        sender_user=people.admin,
        enqueue=False,
    )


def opens(message):
    db.session.expire_all()
    return db.session.get(type(message), message.id).open_count


def test_pixel_counts_opens_of_its_message(app, client, message):
    for expected in (1, 2):
        response = client.get(pixel_path(app, message.token))
        assert response.status_code == 200 and response.data == PIXEL_GIF
        assert response.mimetype == "image/gif"
        assert "no-store" in response.headers["Cache-Control"]
        assert opens(message) == expected - 1  # buffered until flushed
        assert tracking.flush() == 1
        assert opens(message) == expected
    db.session.refresh(message)
    assert message.first_opened_at <= message.last_opened_at


def test_unsigned_forged_and_malformed_tokens_get_the_same_gif_and_count_nothing(
    app, client, message
):
    path = pixel_path(app, message.token)
    token = path[len("/o/") : -len(".gif")]
    changed_signature = token[:-1] + ("0" if token[-1] != "0" else "1")
    changed_message = ("B" if token[0] != "B" else "C") + token[1:]
    for bad in (
        message.token,
        changed_signature,
        changed_message,
        token[:-3],
        "x",
        "a" * 200,
        "..etc..passwd",
        f"{token}.0",
    ):
        response = client.get(f"/o/{bad}.gif")
        assert response.status_code == 200 and response.data == PIXEL_GIF
    assert buffer.pending() == 0 and tracking.flush() == 0
    assert opens(message) == 0


def test_concurrent_opens_are_all_counted(app, message):
    path = pixel_path(app, message.token)
    errors = []

    def hit():
        try:
            client = app.test_client()
            for _ in range(10):
                assert client.get(path).status_code == 200
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert tracking.flush() == 80 and opens(message) == 80


def test_a_flush_interrupted_after_its_commit_counts_each_hit_once(
    app, client, message, monkeypatch
):
    for _ in range(5):
        client.get(pixel_path(app, message.token))

    def killed(*args):
        raise ConnectionError("flusher killed before trimming the list")

    with monkeypatch.context() as patch:
        patch.setattr(type(get_redis()), "ltrim", killed)
        with pytest.raises(ConnectionError):
            tracking.flush()
    assert opens(message) == 5 and buffer.pending() == 5  # written, still in the list
    get_redis().delete(buffer.LOCK)  # the killed flusher's lock, as if it had expired
    client.get(pixel_path(app, message.token))
    assert tracking.flush() == 1
    assert opens(message) == 6 and buffer.pending() == 0
    assert db.session.scalar(db.select(db.func.count(TrackingEvent.id))) == 6


def test_hits_of_a_deleted_message_are_dropped_not_kept_forever(app, client, message):
    client.get(pixel_path(app, message.token))
    db.session.delete(message)
    db.session.commit()
    assert tracking.flush() == 0 and buffer.pending() == 0


def test_only_one_flush_runs_at_a_time(app, client, message):
    client.get(pixel_path(app, message.token))
    get_redis().set(buffer.LOCK, "someone else", px=5000)
    assert tracking.flush() == 0 and buffer.pending() == 1
    get_redis().delete(buffer.LOCK)
    assert tracking.flush() == 1


def test_pages_showing_counts_flush_first(app, client, message, people):
    message.state = "sent"
    db.session.commit()
    client.get(pixel_path(app, message.token))
    log_in(client, "ada@example.com", "secret")
    page = client.get(f"/contacts/{people.jan.id}").get_data(as_text=True)
    assert re.search(rf'class="num open-count" data-message-id="{message.id}"[^>]*>1</td>', page)
    assert buffer.pending() == 0 and opens(message) == 1

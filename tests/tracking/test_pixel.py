"""The open pixel: always the GIF, counts only real tokens, atomically."""

import threading

from designer import mail
from designer.extensions import db
from designer.tracking import PIXEL_GIF


def test_pixel_counts_opens_of_its_message(client, welcome, people):
    message = mail.queue_message(welcome.current, module="contact", record=people.jan,
                                 sender_user=people.admin, enqueue=False)
    for expected in (1, 2):
        response = client.get(f"/o/{message.token}.gif")
        assert response.status_code == 200 and response.data == PIXEL_GIF
        assert response.mimetype == "image/gif"
        assert "no-store" in response.headers["Cache-Control"]
        db.session.refresh(message)
        assert message.open_count == expected
    assert message.first_opened_at <= message.last_opened_at


def test_unknown_and_malformed_tokens_get_the_same_gif_and_count_nothing(client, welcome,
                                                                          people):
    message = mail.queue_message(welcome.current, module="contact", record=people.jan,
                                 sender_user=people.admin, enqueue=False)
    changed = message.token[:-1] + ("A" if message.token[-1] != "A" else "B")
    for token in (changed, "x", "a" * 200, "../../etc/passwd"):
        response = client.get(f"/o/{token}.gif")
        assert response.status_code in (200, 404)
        if response.status_code == 200:
            assert response.data == PIXEL_GIF
    db.session.refresh(message)
    assert message.open_count == 0


def test_concurrent_opens_are_all_counted(app, welcome, people):
    message = mail.queue_message(welcome.current, module="contact", record=people.jan,
                                 sender_user=people.admin, enqueue=False)
    token = message.token
    errors = []

    def hit():
        try:
            client = app.test_client()
            for _ in range(10):
                assert client.get(f"/o/{token}.gif").status_code == 200
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    db.session.expire_all()
    assert db.session.get(type(message), message.id).open_count == 80

"""Opens and clicks as classified events, counted atomically, shown honestly."""

import logging
import threading
import time
from datetime import datetime, timedelta

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from support import log_in, pixel_path, sent_message

from designer import mail, tracking
from designer.extensions import db
from designer.networks import client_network
from designer.tracking import buffer
from designer.tracking.classify import classify
from designer.tracking.models import TrackingEvent

HUMAN_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Thunderbird/128.0"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"user_agent": HUMAN_AGENT, "client_ip": "203.0.113.9", "seconds_after_send": 3600},
            "human",
        ),
        (
            {"user_agent": "Mozilla/5.0", "client_ip": "17.58.101.5", "seconds_after_send": 3600},
            "privacy_proxy",
        ),
        ({"user_agent": "Barracuda Sentinel (EE)", "client_ip": "198.51.100.1"}, "scanner"),
        ({"method": "HEAD", "user_agent": HUMAN_AGENT}, "scanner"),
        (
            {"user_agent": HUMAN_AGENT, "client_ip": "203.0.113.9", "seconds_after_send": 2},
            "prefetch",
        ),
    ],
)
def test_classification(kwargs, expected):
    assert classify(**kwargs) == expected


def test_addresses_are_reduced_for_privacy():
    assert client_network("203.0.113.77") == "203.0.113.0/24"
    assert client_network("2001:db8:abcd:12::1") == "2001:db8:abcd::/48"
    assert client_network("not an ip") == ""


@pytest.fixture
def sent(app, welcome, people):
    return sent_message(welcome, people.jan, people.admin)


def test_pixel_hits_are_events_with_raw_and_human_counts(app, client, sent):
    pixel = pixel_path(app, sent.token)
    client.get(pixel, headers={"User-Agent": HUMAN_AGENT})
    client.get(
        pixel, headers={"User-Agent": "Mozilla/5.0"}, environ_base={"REMOTE_ADDR": "17.1.2.3"}
    )
    client.head(pixel)
    tracking.flush()
    db.session.refresh(sent)
    assert sent.open_count == 3 and sent.human_open_count == 1
    kinds = [e.classification for e in tracking.timeline(sent.id)]
    assert kinds == ["human", "privacy_proxy", "scanner"]


def test_clicks_are_counted_per_link_and_redirect_to_the_stored_url(app, client, sent):
    from designer.mail.links import signer_for

    url = signer_for(app).url(sent.token, 0)
    path = url[url.index("/c/") :]
    response = client.get(path, headers={"User-Agent": HUMAN_AGENT})
    assert response.status_code == 302 and response.headers["Location"] == (
        "https://example.com/start"
    )
    client.get(path, headers={"User-Agent": "Proofpoint URL Defense"})
    tracking.flush()
    db.session.refresh(sent)
    assert sent.click_count == 2 and sent.human_click_count == 1
    assert tracking.link_clicks(sent.id) == {0: (2, 1)}


@pytest.mark.parametrize(
    "mangle",
    [
        lambda path: path[:-1] + ("0" if path[-1] != "0" else "1"),  # a changed byte
        lambda path: path[:-5],  # truncated
        lambda path: path.replace(".0.", ".7."),  # another link index, old signature
        lambda path: path + "?next=https://evil.example",  # URL taken from the request: ignored
    ],
)
def test_tampered_click_tokens_are_a_plain_404(app, client, sent, mangle):
    from designer.mail.links import signer_for

    url = signer_for(app).url(sent.token, 0)
    path = mangle(url[url.index("/c/") :])
    response = client.get(path)
    if "?next=" in path:
        assert response.headers["Location"] == "https://example.com/start"
        return
    assert response.status_code == 404 and "Location" not in response.headers
    assert tracking.flush() == 0


def test_organisation_page_shows_raw_and_human_opens(app, client, sent, people):
    client.get(pixel_path(app, sent.token), headers={"User-Agent": HUMAN_AGENT})
    client.get(pixel_path(app, sent.token), headers={"User-Agent": "Barracuda"})
    ada = log_in(client, "ada@example.com", "secret")
    page = ada.get(f"/organisations/{people.org.id}").text
    assert 'class="num human-open-count"' in page
    message_page = ada.get(f"/messages/{sent.id}").text
    assert "opened 2 times (1 likely human)" in message_page


def test_tracking_off_for_a_language_inserts_no_pixel_and_keeps_links(
    smtp_app, smtp_server, welcome, people
):
    from designer.mail.tracking_policy import set_tracking_policy

    set_tracking_policy(off_languages=["nl"])
    dutch = mail.queue_message(
        welcome, module="contact", record=people.jan, sender_user=people.admin, enqueue=False
    )
    english = mail.queue_message(
        welcome, module="contact", record=people.emma, sender_user=people.admin, enqueue=False
    )
    mail.deliver_batch([dutch.id, english.id])
    by_address = {
        m["To"].addresses[0].addr_spec: m.get_body(("html",)).get_content()
        for m in smtp_server.handler.messages()
    }
    assert "/o/" not in by_address["jan@devries.example"]
    assert 'href="https://example.com/start"' in by_address["jan@devries.example"]
    assert pixel_path(smtp_app, english.token) in by_address["emma@devries.example"]


def test_a_page_waits_for_the_schedulers_flush_and_shows_every_hit(app, client, sent, people):
    """The scheduler's flush holds the lock (with hits it moved aside, not yet committed):
    the page's own flush waits for it to end, then writes what is left."""
    redis = app.extensions["redis"]
    ada = log_in(client, "ada@example.com", "secret")
    for _ in range(2):
        client.get(pixel_path(app, sent.token), headers={"User-Agent": HUMAN_AGENT})
    assert redis.set(buffer.LOCK, "the scheduler's flush", nx=True, px=buffer.LOCK_MS)
    threading.Timer(0.4, redis.delete, [buffer.LOCK]).start()
    started = time.monotonic()
    page = ada.get(f"/messages/{sent.id}").text
    assert "opened 2 times (2 likely human)" in page
    assert time.monotonic() - started < tracking.FRESH_WAIT_SECONDS + 1


def test_a_flush_that_cannot_wait_leaves_the_hits_for_the_next(app, client, sent):
    redis = app.extensions["redis"]
    client.get(pixel_path(app, sent.token), headers={"User-Agent": HUMAN_AGENT})
    redis.set(buffer.LOCK, "another flush", px=buffer.LOCK_MS)
    assert tracking.flush() == 0
    assert buffer.flush(wait=0.1) == 0  # still held: gives up after its wait
    redis.delete(buffer.LOCK)
    assert tracking.flush() == 1


@pytest.fixture
def held_flush(app, monkeypatch):
    """A scheduler's flush run in a thread of its own and held between its steps: it has
    moved the pending hits aside (``RENAME``) and not stored them yet. ``release()`` lets
    it go on; ``join()`` waits for its end and gives what it counted."""
    moved, go_on, counted = threading.Event(), threading.Event(), []
    store = buffer._store

    def held_store(items):
        if threading.current_thread().name == "scheduler-flush":
            moved.set()
            assert go_on.wait(10)
        return store(items)

    monkeypatch.setattr(buffer, "_store", held_store)

    def run():
        with app.app_context():
            counted.append(buffer.flush())
            db.session.remove()

    thread = threading.Thread(target=run, name="scheduler-flush")

    class Held:
        def start(self):
            thread.start()
            assert moved.wait(10)

        def release(self):
            go_on.set()

        def join(self):
            go_on.set()
            thread.join(10)
            return counted[0]

    yield Held()
    go_on.set()
    thread.join(10)


def test_hits_moved_aside_by_a_running_flush_are_counted_on_the_page(
    app, client, sent, people, held_flush
):
    """The race of a page drawn while the scheduler's flush holds the hits it moved aside,
    made to happen every time: the page's flush waits for it, then writes what came since."""
    redis = app.extensions["redis"]
    ada = log_in(client, "ada@example.com", "secret")
    page_url = f"/messages/{sent.id}"
    for _ in range(2):
        client.get(pixel_path(app, sent.token), headers={"User-Agent": HUMAN_AGENT})
    held_flush.start()
    assert redis.llen(buffer.FLUSHING) == 2 and redis.llen(buffer.PENDING) == 0
    # A flush that does not wait finds nothing it may write: the two hits are the other's.
    assert buffer.flush() == 0 and buffer.pending() == 2
    client.get(pixel_path(app, sent.token), headers={"User-Agent": HUMAN_AGENT})
    threading.Timer(0.5, held_flush.release).start()
    db.session.expire_all()  # the request shares the test's session: as a fresh one
    started = time.monotonic()
    page = ada.get(page_url).text
    assert time.monotonic() - started >= 0.4  # it waited for the scheduler's flush
    assert "opened 3 times (3 likely human)" in page
    assert held_flush.join() == 3 and buffer.pending() == 0  # it took the third hit too


def test_a_page_drawn_while_a_flush_runs_too_long_still_shows_what_is_stored(
    app, client, sent, people, held_flush, monkeypatch
):
    monkeypatch.setattr(tracking, "FRESH_WAIT_SECONDS", 0.3)
    ada = log_in(client, "ada@example.com", "secret")
    client.get(pixel_path(app, sent.token), headers={"User-Agent": HUMAN_AGENT})
    page_url = f"/messages/{sent.id}"
    held_flush.start()
    started = time.monotonic()
    assert ada.get(page_url).status_code == 200  # not held up for good
    assert time.monotonic() - started < 2
    assert held_flush.join() == 1
    db.session.expire_all()  # the request shares the test's session: as a fresh one
    assert "opened 1 time (" in ada.get(page_url).text


def test_the_open_pixel_is_taken_out_of_mail_shown_in_the_app_and_nothing_else(app):
    pixel = f'<IMG alt="" src="https://designer.example{pixel_path(app, "a" * 22)}" width="1">'
    logo = '<img src="https://designer.example/o/logo.png" alt="Logo">'
    assert tracking.without_pixel(f"<p>Hello</p>{pixel}{logo}") == f"<p>Hello</p>{logo}"


def test_a_page_showing_counts_shows_the_stored_ones_when_redis_cannot_be_reached(
    app, monkeypatch, caplog
):
    unreachable = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    monkeypatch.setitem(app.extensions, "redis", unreachable)
    page = tracking.fresh_counts(lambda: "the page")
    with caplog.at_level(logging.WARNING, logger="designer.tracking"):
        assert page() == "the page"
    assert "tracking hits not flushed" in caplog.text


def test_an_open_recorded_from_python_counts_with_what_its_hit_told(app, sent):
    tracking.record_open(sent.token)  # no hit: nothing known that makes it a machine
    tracking.record_open(sent.token, tracking.Hit(method="HEAD", user_agent=HUMAN_AGENT))
    assert tracking.flush() == 2
    db.session.refresh(sent)
    assert sent.open_count == 2 and sent.human_open_count == 1
    first, second = tracking.timeline(sent.id)
    assert (first.classification, first.user_agent, first.client_network) == ("human", "", "")
    assert (second.classification, second.user_agent) == ("scanner", HUMAN_AGENT)


def test_clicks_per_link_count_each_link_of_that_message_and_its_human_clicks(
    app, sent, welcome, people
):
    other = sent_message(welcome, people.emma, people.admin)
    for message, kind, link, classification in [
        (sent, "click", 0, "human"),
        (sent, "click", 0, "human"),
        (sent, "click", 0, "scanner"),
        (sent, "click", 1, "human"),
        (sent, "click", 2, "prefetch"),
        (sent, "open", None, "human"),
        (other, "click", 1, "human"),
    ]:
        db.session.add(
            TrackingEvent(
                message_id=message.id, kind=kind, link_index=link, classification=classification
            )
        )
    db.session.commit()
    assert tracking.link_clicks(sent.id) == {0: (3, 2), 1: (1, 1), 2: (1, 0)}


def test_a_timeline_is_in_time_order_and_in_the_order_stored_within_one_instant(app, sent):
    noon = datetime(2026, 12, 4, 12, 0)
    for event_id, at in [(30, noon), (20, noon - timedelta(seconds=1)), (10, noon)]:
        db.session.add(TrackingEvent(id=event_id, message_id=sent.id, kind="open", at=at))
        db.session.commit()  # stored in this order
    assert [event.id for event in tracking.timeline(sent.id)] == [20, 10, 30]

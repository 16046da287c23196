"""``designer worker --queues``: a worker serves the queues it is given, and only those."""

from rq import Worker
from support import run_designer, wait_for

from designer.broker import QUEUES, get_queue, get_redis, queue_names


def test_queue_names_keep_the_priority_order():
    assert queue_names([]) == QUEUES
    assert queue_names(["pdf,emails", "periodic"]) == ("periodic", "emails", "pdf")
    assert queue_names([" emails , ", "emails"]) == ("emails",)


def test_an_unknown_queue_is_named(app):
    result = run_designer(app, "worker", "--queues", "emails,mails", "--burst")
    assert result.returncode == 2
    assert "unknown queue mails (the queues are periodic, workflows" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_worker_serves_only_its_queues(app, admin_client, designer_process):
    left = get_queue("pdf").enqueue("workers.jobs.flush_tracking")
    process = designer_process("worker", "--queues", "emails,webhooks", "--queues", "periodic")

    def registered():
        return [w for w in Worker.all(connection=get_redis()) if w.pid == process.pid]

    assert wait_for(registered, timeout=60), process.log.read_text()[-2000:]
    (worker,) = registered()
    assert worker.queue_names() == ["periodic", "emails", "webhooks"]
    taken = get_queue("periodic").enqueue("workers.jobs.flush_tracking")
    assert wait_for(lambda: taken.get_status(refresh=True) == "finished", timeout=30)
    assert left.get_status(refresh=True) == "queued"  # pdf is not this worker's
    (entry,) = admin_client.get("/healthz").get_json()["worker_details"]
    assert entry["name"] == worker.name and entry["pid"] == process.pid
    assert entry["queues"] == ["periodic", "emails", "webhooks"]

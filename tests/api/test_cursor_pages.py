"""Lists without bound in cursor pages: every row once, newest first, and no cursor but the
list's own accepted."""

import pytest

from designer import workflows
from designer.extensions import db
from designer.mail.models import Message
from designer.templating import Template
from designer.workflows.models import WorkflowRun


def refused(response):
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    return error


def read_all(api, path, name, limit):
    """Every page of ``path``: its items' ids in order, and how many pages it took."""
    ids, pages, cursor = [], 0, None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(path + query).get_json()
        assert body["limit"] == limit and len(body[name]) <= limit
        ids += [item["id"] for item in body[name]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages
        assert pages < 100, "the pages never end"


@pytest.fixture
def started_campaign(admin_api, demo):
    template = db.session.scalar(db.select(Template).where(Template.kind == "email"))
    body = {"name": "Everyone", "template_id": template.id, "filters": []}
    campaign = admin_api.post("/api/v1/campaigns", json=body).get_json()
    started = admin_api.post(f"/api/v1/campaigns/{campaign['id']}/start").get_json()
    assert started["total"] > 20
    return campaign["id"]


def test_a_campaigns_recipients_come_once_each_newest_first(admin_api, started_campaign):
    path = f"/api/v1/campaigns/{started_campaign}/recipients"
    ids, pages = read_all(admin_api, path, "recipients", 7)
    stored = db.session.scalars(
        db.select(Message.id).where(Message.campaign_id == started_campaign)
    ).all()
    assert ids == sorted(stored, reverse=True)
    assert pages == -(-len(stored) // 7) + (len(stored) % 7 == 0)
    first = admin_api.get(path + "?limit=1").get_json()["recipients"][0]
    assert {"recipient", "state", "open_count"} <= set(first) and first["state"] == "queued"


def test_a_page_starts_below_the_last_row_seen_even_as_rows_arrive(
    admin_api, started_campaign, demo
):
    path = f"/api/v1/campaigns/{started_campaign}/recipients"
    first = admin_api.get(path + "?limit=5").get_json()
    newer = Message(**_copy_of(db.session.get(Message, first["recipients"][0]["id"])))
    db.session.add(newer)
    db.session.commit()
    second = admin_api.get(path + f"?limit=5&cursor={first['next_cursor']}").get_json()
    seen = [m["id"] for m in first["recipients"] + second["recipients"]]
    assert newer.id not in seen and len(set(seen)) == 10
    assert max(m["id"] for m in second["recipients"]) < min(m["id"] for m in first["recipients"])


def _copy_of(message):
    return {
        "campaign_id": message.campaign_id,
        "template_version_id": message.template_version_id,
        "contact_id": message.contact_id,
        "recipient_email": message.recipient_email,
        "token": message.token[::-1] + "x",
    }


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "eyJ4IjoxfQ.AAAA",  # the shape of one, signed by nobody
        "%00%ff%fe",
        "x" * 201,
        "é" * 50,
    ],
)
def test_a_cursor_the_list_did_not_give_out_is_refused(admin_api, started_campaign, cursor):
    path = f"/api/v1/campaigns/{started_campaign}/recipients?cursor={cursor}"
    error = refused(admin_api.get(path))
    assert list(error["details"]["fields"]) == ["cursor"]


def test_a_cursor_of_another_list_is_refused(admin_api, started_campaign, demo):
    recipients = f"/api/v1/campaigns/{started_campaign}/recipients"
    cursor = admin_api.get(recipients + "?limit=1").get_json()["next_cursor"]
    contact_id = db.session.scalar(
        db.select(Message.contact_id).where(Message.campaign_id == started_campaign)
    )
    record = f"/api/v1/records/contact/{contact_id}/messages?cursor={cursor}"
    error = refused(admin_api.get(record))
    assert "start again without one" in error["details"]["fields"]["cursor"][0]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1e3"])
def test_limits_out_of_bounds_are_refused(admin_api, started_campaign, limit):
    path = f"/api/v1/campaigns/{started_campaign}/recipients?limit={limit}"
    assert list(refused(admin_api.get(path))["details"]["fields"]) == ["limit"]


def test_limit_bounds_are_accepted(admin_api, started_campaign):
    path = f"/api/v1/campaigns/{started_campaign}/recipients"
    assert len(admin_api.get(path + "?limit=1").get_json()["recipients"]) == 1
    assert len(admin_api.get(path + "?limit=100").get_json()["recipients"]) > 20


def test_recipients_of_an_unknown_campaign_are_404(admin_api, demo):
    assert admin_api.get("/api/v1/campaigns/999999/recipients").status_code == 404


def test_marketers_read_recipients_too(marketer_api, started_campaign):
    path = f"/api/v1/campaigns/{started_campaign}/recipients?limit=3"
    assert len(marketer_api.get(path).get_json()["recipients"]) == 3


def test_a_workflows_runs_in_cursor_pages(admin_api, demo):
    workflow = workflows.Workflow(name="Log", module="contact")
    db.session.add(workflow)
    db.session.flush()
    db.session.add_all(
        WorkflowRun(
            workflow_id=workflow.id,
            cause="manual",
            module="contact",
            record_id=n,
            outcome="nothing",
        )
        for n in range(1, 12)
    )
    db.session.commit()
    ids, pages = read_all(admin_api, f"/api/v1/workflows/{workflow.id}/runs", "runs", 4)
    stored = db.session.scalars(db.select(WorkflowRun.id)).all()
    assert ids == sorted(stored, reverse=True) and pages == 3

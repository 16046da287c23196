"""Workflows (admins only): create, read, change, delete, test against a record, run log."""

from flask_login import current_user
from marshmallow import Schema, fields, validate

from designer import records, workflows
from designer.api.cursors import CursorPageSchema, CursorQuerySchema, cursor_page
from designer.api.schemas import MAX_ID, Id, Text, UtcDateTime
from designer.api.spec import ApiBlueprint
from designer.auth import protect
from designer.errors import ApiError
from designer.records.upsert import UPSERT_MODULES

bp = ApiBlueprint(
    "Workflows",
    __name__,
    url_prefix="/api/v1/workflows",
    description="Rules that send templates when CRM events or dates come (admins only).",
)
protect(bp, role="admin")

#: Plain ``int``: with a ``max``, werkzeug answers 405 (not 404) to PUT or DELETE of a
#: too-large id, as the GET rule of the same path still matches; ``_workflow`` says 404.
WORKFLOW_ID = "/<int:workflow_id>"


class WorkflowInSchema(Schema):
    """A workflow definition; `trigger`, `conditions`, `actions` and `repeat` as in the
    editor (see the README's Workflows section)."""

    name = Text(required=True, validate=validate.Length(1, 200))
    module = Text(required=True, validate=validate.OneOf(UPSERT_MODULES))
    enabled = fields.Boolean(
        load_default=False,
        metadata={"description": "A new workflow is switched off unless this is true."},
    )
    trigger = fields.Dict(
        load_default=dict,
        metadata={
            "description": 'e.g. {"type": "created"}, {"type": "field_changed", "field": '
            '"status", "value": "paid"}, {"type": "date", "field": "due_date", '
            '"when": "before", "days": 3, "time": "09:00"}'
        },
    )
    conditions = fields.Dict(
        load_default=dict,
        metadata={
            "description": '{"match": "all"|"any", "items": [{"field": "organisation.country", '
            '"op": "eq", "value": "Netherlands"}]}'
        },
    )
    actions = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": '[{"type": "send_email", "template_id": 3, "to": "record"|'
            '"related_contacts"|"owner"|"fixed", "addresses": [], '
            '"attach_pdf_ids": [], "sender": "admin"|"owner"|"user"|"system", '
            '"sender_user_id": null, "locale": "recipient"|"template"|"sender", '
            '"delay_minutes": 0}]'
        },
    )
    repeat = fields.Dict(
        load_default=dict,
        metadata={"description": '{"mode": "once"|"once_per_days"|"every", "days": 30}'},
    )


class WorkflowSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    module = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    trigger = fields.Dict(required=True)
    conditions = fields.Dict(required=True)
    actions = fields.List(fields.Dict(), required=True)
    repeat = fields.Dict(required=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)


class WorkflowListSchema(Schema):
    workflows = fields.List(fields.Nested(WorkflowSchema), required=True)


class TestInSchema(Schema):
    record_id = Id(required=True, metadata={"description": "A record of the workflow's module."})


class TestResultSchema(Schema):
    matched = fields.Boolean(required=True)
    conditions = fields.List(
        fields.Dict(),
        required=True,
        metadata={"description": "Each condition with the record's value and its result."},
    )
    repeat = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Why repeat protection would stop it now, or null."},
    )
    actions = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "Per action: the messages it would send (to, from, subject, locale "
            "and why, attachments, delay) or its error."
        },
    )


class RunSchema(Schema):
    id = fields.Integer(required=True)
    cause = fields.String(required=True)
    event = fields.String(required=True, allow_none=True, attribute="event.type")
    module = fields.String(required=True)
    record_id = fields.Integer(required=True)
    outcome = fields.String(required=True)
    conditions = fields.List(fields.Dict(), required=True)
    actions = fields.List(fields.Dict(), required=True)
    message_ids = fields.List(fields.Integer(), required=True)
    error = fields.String(required=True)
    created_at = UtcDateTime(required=True)


class RunListSchema(CursorPageSchema):
    runs = fields.List(
        fields.Nested(RunSchema), required=True, metadata={"description": "Newest first."}
    )


def _invalid(exc):
    return ApiError(422, "invalid_workflow", str(exc), {"fields": {exc.field: [exc.message]}})


def _workflow(workflow_id):
    if workflow_id > MAX_ID:
        raise ApiError(404, "not_found", f"no workflow with id {workflow_id}")
    try:
        return workflows.get_workflow(workflow_id)
    except LookupError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc


@bp.route("")
@bp.response(200, WorkflowListSchema)
@bp.alt_response(403, response="FORBIDDEN")
def list_workflows():
    """Every workflow, by name."""
    return {"workflows": workflows.list_workflows()}


@bp.route("", methods=["POST"])
@bp.arguments(WorkflowInSchema)
@bp.response(201, WorkflowSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_workflow(body):
    """Create a workflow; a bad definition is 422 naming the field (`actions[0].to`)."""
    try:
        return workflows.save_workflow(body, user=current_user)
    except workflows.InvalidWorkflow as exc:
        raise _invalid(exc) from exc


@bp.route(WORKFLOW_ID)
@bp.response(200, WorkflowSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def get_workflow(workflow_id):
    """One workflow's definition."""
    return _workflow(workflow_id)


@bp.route(WORKFLOW_ID, methods=["PUT"])
@bp.arguments(WorkflowInSchema)
@bp.response(200, WorkflowSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def replace_workflow(body, workflow_id):
    """Replace a workflow's definition (its run log stays)."""
    workflow = _workflow(workflow_id)
    try:
        return workflows.save_workflow(body, workflow)
    except workflows.InvalidWorkflow as exc:
        raise _invalid(exc) from exc


@bp.route(WORKFLOW_ID, methods=["DELETE"])
@bp.response(204)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def delete_workflow(workflow_id):
    """Delete a workflow and its run log."""
    workflows.delete_workflow(_workflow(workflow_id))


@bp.route(WORKFLOW_ID + "/test", methods=["POST"])
@bp.arguments(TestInSchema)
@bp.response(200, TestResultSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def test_workflow(body, workflow_id):
    """What the workflow would send for a record now: to whom, from whom, in which locale,
    with the merged subject. Nothing is sent."""
    workflow = _workflow(workflow_id)
    record = records.get_record(workflow.module, body["record_id"])
    return workflows.test_workflow(workflow, workflow.module, record)


@bp.route(WORKFLOW_ID + "/runs")
@bp.arguments(CursorQuerySchema, location="query")
@bp.response(200, RunListSchema)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
def list_runs(query, workflow_id):
    """The workflow's run log, newest first, in cursor pages (follow `next_cursor`)."""
    from designer.workflows.runs import WorkflowRun, runs_query

    rows = runs_query(_workflow(workflow_id).id)
    return cursor_page(rows, query, "runs", WorkflowRun.id)

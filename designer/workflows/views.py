"""Workflow pages (administrators): the list, the editor with its dry run, the run log."""

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from designer import keyset, workflows
from designer.auth import protect
from designer.records import RecordNotFound, get_record, list_users
from designer.records.picker import (
    PICKER_MODULES,
    PickerError,
    choice_of,
    choose_record,
    first_choice,
)
from designer.records.upsert import UPSERT_MODULES
from designer.templating import list_templates
from designer.workflows import forms, rules
from designer.workflows.models import WorkflowRun
from designer.workflows.runs import runs_query

bp = Blueprint("workflows", __name__, url_prefix="/workflows")
protect(bp, role="admin")


def _workflow_or_404(workflow_id):
    try:
        return workflows.get_workflow(workflow_id)
    except LookupError as exc:
        abort(404, description=str(exc))


@bp.get("")
def list_page():
    return render_template(
        "workflows/list.html",
        workflows=workflows.list_workflows(),
        modules=UPSERT_MODULES,
        describe=describe_trigger,
    )


def describe_trigger(workflow):
    """The trigger in words, for the list."""
    trigger = workflow.trigger
    kind = trigger.get("type")
    if kind == "field_changed":
        to = f" to {trigger['value']}" if trigger.get("value") else ""
        return f"{trigger['field']} changes{to}"
    if kind == "date":
        if trigger["when"] == "on":
            return f"on the {trigger['field']} at {trigger['time']}"
        return (
            f"{trigger['days']} days {trigger['when']} the {trigger['field']} "
            f"at {trigger['time']} (recipient's time)"
        )
    if kind == "replied":
        which = f"template {trigger['template_id']}" if trigger.get("template_id") else "any"
        return f"the record replies to a message ({which})"
    return rules.TRIGGERS.get(kind, kind)


@bp.get("/new")
def new():
    module = request.args.get("module", "")
    if module not in UPSERT_MODULES:
        return render_template("workflows/choose_module.html", modules=UPSERT_MODULES)
    values = {
        "name": "",
        "module": module,
        "enabled": False,
        "trigger": {"type": "created"},
        "conditions": {"match": "all", "items": []},
        "actions": [],
        "repeat": {"mode": ""},
    }
    return _editor(None, values)


@bp.post("/new")
def create():
    values = forms.definition(request.form)
    try:
        workflow = workflows.save_workflow(values, user=current_user)
    except workflows.InvalidWorkflow as exc:
        return _invalid(None, values, exc)
    flash(f"Workflow “{workflow.name}” saved.", "success")
    return redirect(url_for("workflows.edit", workflow_id=workflow.id))


@bp.get("/<int:workflow_id>")
def edit(workflow_id):
    workflow = _workflow_or_404(workflow_id)
    return _editor(workflow, forms.values_of(workflow))


@bp.post("/<int:workflow_id>")
def update(workflow_id):
    workflow = _workflow_or_404(workflow_id)
    values = forms.definition(request.form)
    values["module"] = workflow.module  # fixed once made: its fields and templates depend on it
    try:
        workflows.save_workflow(values, workflow)
    except workflows.InvalidWorkflow as exc:
        return _invalid(workflow, values, exc)
    flash("Workflow saved.", "success")
    return redirect(url_for("workflows.edit", workflow_id=workflow.id))


def _invalid(workflow, values, exc):
    flash(f"Not saved — {field_label(exc.field)}: {exc.message}", "error")
    return _editor(workflow, values, status=400, error_field=exc.field)


def field_label(field):
    """``actions[0].template_id`` as "Action 1, template"."""
    label = re.sub(r"actions\[(\d+)\]\.", lambda m: f"Action {int(m[1]) + 1}, ", field)
    label = re.sub(r"conditions\.items\[(\d+)\]\.", lambda m: f"Condition {int(m[1]) + 1}, ", label)
    return label.replace("_id", "").replace("_", " ").replace(".", " ")


def _tested_choice(module, tested):
    """What the test's record picker shows: the record just tested, else the first one."""
    if module not in PICKER_MODULES:
        return None
    if tested:
        return choice_of(module, tested["record"])
    return first_choice(module)


def _editor(workflow, values, status=200, error_field=None, tested=None):
    module = values["module"]
    templates = [t for t in list_templates("email") if t.module in rules.MERGES_WITH[module]]
    pdfs = [t for t in list_templates("pdf") if t.module == module]
    return render_template(
        "workflows/editor.html",
        workflow=workflow,
        values=values,
        rows=forms.rows_for_page(values),
        module=module,
        fields=sorted(rules.field_names(module) | {rules.REPLIED_FIELD}),
        date_fields=rules.DATE_FIELDS[module],
        templates=templates,
        reply_templates=list_templates("email"),
        pdfs=pdfs,
        users=list_users(),
        rules=rules,
        error_field=error_field,
        tested=tested,
        tested_choice=_tested_choice(module, tested),
    ), status


@bp.get("/<int:workflow_id>/test")
def test(workflow_id):
    """What the workflow would send for a record: to whom, from whom, in which locale."""
    workflow = _workflow_or_404(workflow_id)
    record_id = request.args.get("record", type=int)
    try:
        if workflow.module in PICKER_MODULES:
            record = choose_record(workflow.module, request.args.get("record_query"), record_id)
        else:
            record = get_record(workflow.module, record_id or 0)
    except RecordNotFound:
        flash(f"Choose a {workflow.module} to test the workflow against.", "error")
        return redirect(url_for("workflows.edit", workflow_id=workflow.id))
    except PickerError as exc:
        flash(f"Not tested: {exc}.", "error")
        return redirect(url_for("workflows.edit", workflow_id=workflow.id))
    tested = workflows.test_workflow(workflow, workflow.module, record)
    tested["record"] = record
    return _editor(workflow, forms.values_of(workflow), tested=tested)


@bp.get("/<int:workflow_id>/runs")
def runs(workflow_id):
    workflow = _workflow_or_404(workflow_id)
    return render_template(
        "workflows/runs.html",
        workflow=workflow,
        page=keyset.newest_first(runs_query(workflow.id), WorkflowRun.id, keyset.before_arg()),
        describe=describe_trigger,
    )


@bp.post("/<int:workflow_id>/delete")
def delete(workflow_id):
    workflow = _workflow_or_404(workflow_id)
    workflows.delete_workflow(workflow)
    flash(f"Workflow “{workflow.name}” deleted with its run log.", "success")
    return redirect(url_for("workflows.list_page"))

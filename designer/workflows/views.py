"""Workflow pages (administrators): the list, the editor with its dry run, the run log."""

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from designer import keyset, workflows
from designer.auth import protect
from designer.i18n import N_
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
from designer.templating.views import module_words
from designer.workflows import forms, rules
from designer.workflows.models import WorkflowRun
from designer.workflows.runs import runs_query

bp = Blueprint("workflows", __name__, url_prefix="/workflows")
protect(bp, role="admin")
bp.context_processor(module_words)


def _workflow_or_404(workflow_id):
    try:
        return workflows.get_workflow(workflow_id)
    except LookupError:
        abort(404, description=_("no workflow with id %(id)s", id=workflow_id))


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
        if trigger.get("value"):
            return _(
                "%(field)s changes to %(value)s", field=trigger["field"], value=trigger["value"]
            )
        return _("%(field)s changes", field=trigger["field"])
    if kind == "date":
        field, time = trigger["field"], trigger["time"]
        if trigger["when"] == "on":
            return _("on the %(field)s at %(time)s", field=field, time=time)
        if trigger["when"] == "before":
            return ngettext(
                "%(num)d day before the %(field)s at %(time)s (recipient's time)",
                "%(num)d days before the %(field)s at %(time)s (recipient's time)",
                trigger["days"],
                field=field,
                time=time,
            )
        return ngettext(
            "%(num)d day after the %(field)s at %(time)s (recipient's time)",
            "%(num)d days after the %(field)s at %(time)s (recipient's time)",
            trigger["days"],
            field=field,
            time=time,
        )
    if kind == "replied":
        if trigger.get("template_id"):
            return _("the record replies to a message (template %(id)s)", id=trigger["template_id"])
        return _("the record replies to a message (any)")
    return _(rules.TRIGGERS[kind]) if kind in rules.TRIGGERS else kind


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
    flash(_("Workflow “%(name)s” saved.", name=workflow.name), "success")
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
    flash(_("Workflow saved."), "success")
    return redirect(url_for("workflows.edit", workflow_id=workflow.id))


def _invalid(workflow, values, exc):
    message = _(exc.template, **exc.params) if exc.params else _(exc.template)
    flash(
        _("Not saved — %(field)s: %(message)s", field=field_label(exc.field), message=message),
        "error",
    )
    return _editor(workflow, values, status=400, error_field=exc.field)


#: The fields ``rules.validate`` names, as the editor's error says them (translated).
FIELD_WORDS = (
    N_("workflow"),
    N_("name"),
    N_("module"),
    N_("trigger"),
    N_("trigger type"),
    N_("trigger field"),
    N_("trigger value"),
    N_("trigger template"),
    N_("trigger when"),
    N_("trigger days"),
    N_("trigger time"),
    N_("conditions"),
    N_("conditions match"),
    N_("conditions items"),
    N_("field"),
    N_("op"),
    N_("value"),
    N_("actions"),
    N_("type"),
    N_("template"),
    N_("to"),
    N_("addresses"),
    N_("attach pdf ids"),
    N_("sender"),
    N_("sender user"),
    N_("locale"),
    N_("delay minutes"),
    N_("repeat"),
    N_("repeat mode"),
    N_("repeat days"),
)


def field_label(field):
    """``actions[0].template_id`` as "Action 1, template"."""
    prefix, rest = "", field
    action = re.match(r"actions\[(\d+)\]\.(.*)", field)
    condition = re.match(r"conditions\.items\[(\d+)\]\.(.*)", field)
    if action:
        prefix, rest = _("Action %(num)s, ", num=int(action[1]) + 1), action[2]
    elif condition:
        prefix, rest = _("Condition %(num)s, ", num=int(condition[1]) + 1), condition[2]
    words = rest.replace("_id", "").replace("_", " ").replace(".", " ")
    return prefix + _(words)


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
        choices=_choices(),
        error_field=error_field,
        tested=tested,
        tested_choice=_tested_choice(module, tested),
    ), status


def _choices():
    """The editor's lists (``rules``' labels) in the page's language."""
    lists = {
        "triggers": rules.TRIGGERS,
        "operators": rules.OPERATORS,
        "recipients": rules.RECIPIENTS,
        "senders": rules.SENDERS,
        "locales": rules.LOCALES,
        "repeats": rules.REPEATS,
    }
    return {
        name: {key: _(label) for key, label in labels.items()} for name, labels in lists.items()
    }


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
        flash(
            _("Choose a %(module)s to test the workflow against.", module=workflow.module),
            "error",
        )
        return redirect(url_for("workflows.edit", workflow_id=workflow.id))
    except PickerError as exc:
        flash(_("Not tested: %(reason)s.", reason=exc), "error")
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
    flash(_("Workflow “%(name)s” deleted with its run log.", name=workflow.name), "success")
    return redirect(url_for("workflows.list_page"))

"""Write-back (Designer → vtiger): the open counts, last opened and last sent, on vtiger's records.

Per organisation and contact known in vtiger (an ``external_id``), the counts
the administrator chose fields for (``writeback_fields``) are written with
``revise``, which changes only the fields given. A record is written when it
is due (``due.mark_due``: mail sent or opens counted since the last look), at
most once per ``CRM_WRITEBACK_MIN_SECONDS``, and only the fields whose value
differs from what was last written go out: a push with nothing new sends
nothing. Values are exact totals (``counts``), so a retried push never
double-counts.

Failures: vtiger refusing one record (deleted there, a field it rejects)
puts that record back with a growing wait and its reason; vtiger down or
refusing the login stops the run (``WritebackUnavailable``) with everything
still due, and ``run_scheduled`` waits longer before each next try. Either way
sending is untouched: the push runs in its own job on its own queue.
"""

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_

from designer.broker import get_redis
from designer.clock import utcnow
from designer.crm import connection, due, message_log
from designer.crm import counts as counting
from designer.crm.client import VtigerError
from designer.crm.models import CrmWritebackState
from designer.crm.writeback_fields import COUNTS, chosen_fields, vtiger_value
from designer.extensions import db
from designer.records.models import Contact, Organisation
from designer.settings import get_setting, set_setting

MODELS = {"organisation": Organisation, "contact": Contact}
#: Records read per round of a push.
CHUNK = 200
#: vtiger failures that concern the connection, not one record: the run stops.
UNAVAILABLE = ("unreachable", "not_vtiger", "credentials")
#: Where the scheduled push keeps its consecutive failures and its next try.
RETRY = "crm_writeback_retry"
#: The scheduled push stops after this long (the next minute's run goes on).
SCHEDULED_SECONDS = 50
LOCK = "designer:crm:writeback-lock"
LOCK_SECONDS = 600


class WritebackUnavailable(Exception):
    """vtiger could not be reached or refused the connection; nothing more was tried."""


@dataclass
class PushResult:
    organisations: int = 0
    contacts: int = 0
    unchanged: int = 0
    failed: int = 0
    #: Due, but written less than ``CRM_WRITEBACK_MIN_SECONDS`` ago: they go later.
    waiting: int = 0
    messages_recorded: int = 0
    errors: list = field(default_factory=list)

    def add(self, module, outcome, error=""):
        """Count one record's ``outcome`` ("pushed", "unchanged", "failed" or "gone")."""
        if outcome == "pushed" and module == "organisation":
            self.organisations += 1
        elif outcome == "pushed":
            self.contacts += 1
        elif outcome == "unchanged":
            self.unchanged += 1
        elif outcome == "waiting":
            self.waiting += 1
        elif outcome == "failed":
            self.failed += 1
            self.errors.append(error)

    @property
    def pushed(self):
        return self.organisations + self.contacts

    def summary(self):
        line = (
            f"pushed {self.pushed} records ({self.organisations} organisations, "
            f"{self.contacts} contacts), {self.failed} failed"
        )
        if self.waiting:
            line += f", {self.waiting} waiting (written less than the minimum interval ago)"
        if self.messages_recorded:
            line += f"; {self.messages_recorded} messages recorded in vtiger"
        return line


def push_due(client, deadline=None):
    """Write every due record's counts to vtiger now (until ``deadline``, a monotonic time).

    Raises ``WritebackUnavailable`` when vtiger cannot be reached or refuses the
    login; what was written before stays written.
    """
    due.mark_due()
    result = PushResult()
    now = utcnow()
    fields = {module: chosen_fields(module) for module in MODELS}
    after = 0
    while deadline is None or time.monotonic() < deadline:
        states = _next_due(after, now)
        if not states:
            break
        after = states[-1].id
        try:
            _push_states(client, states, fields, now, result)
        finally:
            db.session.commit()
    result.messages_recorded = message_log.record_sent_messages(client, _raise_unavailable)
    return result


def _next_due(after, now):
    query = (
        db.select(CrmWritebackState)
        .where(
            CrmWritebackState.due.is_(True),
            CrmWritebackState.id > after,
            or_(
                CrmWritebackState.next_attempt_at.is_(None),
                CrmWritebackState.next_attempt_at <= now,
            ),
        )
        .order_by(CrmWritebackState.id)
        .limit(CHUNK)
    )
    return db.session.scalars(query).all()


def _push_states(client, states, fields, now, result):
    for module in MODELS:
        mine = [state for state in states if state.module == module]
        if not mine:
            continue
        ids = [state.record_id for state in mine]
        external = dict(
            db.session.execute(
                db.select(MODELS[module].id, MODELS[module].external_id).where(
                    MODELS[module].id.in_(ids)
                )
            ).all()
        )
        totals = (
            counting.contact_counts(ids)
            if module == "contact"
            else counting.organisation_counts(ids)
        )
        for state in mine:
            outcome = _push_one(
                client, state, external.get(state.record_id), totals, fields[module], now
            )
            result.add(module, outcome, state.last_error)


def _push_one(client, state, external_id, totals, fields, now):
    if not external_id:  # no longer known in vtiger (or gone): nothing to write to
        db.session.delete(state)
        return "gone"
    if state.external_id != external_id:
        state.external_id, state.pushed = external_id, {}
    values = _values(totals[state.record_id], fields)
    changed = {name: value for name, value in values.items() if state.pushed.get(name) != value}
    if not changed:
        state.due = False
        return "unchanged"
    if state.pushed_at and state.pushed_at > now - _min_gap():
        return "waiting"  # written a moment ago: the change goes with the next run
    try:
        client.revise({"id": external_id, **changed})
    except VtigerError as exc:
        if exc.kind in UNAVAILABLE:
            raise WritebackUnavailable(str(exc)) from exc
        _failed(state, str(exc), now)
        return "failed"
    state.pushed = {**state.pushed, **changed}
    state.pushed_at, state.due, state.attempts = now, False, 0
    state.next_attempt_at, state.last_error = None, ""
    return "pushed"


def _min_gap():
    return timedelta(seconds=current_app.config["CRM_WRITEBACK_MIN_SECONDS"])


def _values(counts, fields):
    """``{vtiger field: value as vtiger takes it}`` of the chosen fields."""
    return {
        name: vtiger_value(kind, counts.value(count))
        for count, (name, kind) in fields.items()
        if count in COUNTS
    }


def _failed(state, error, now):
    state.attempts += 1
    state.last_error = error[:2000]
    state.next_attempt_at = now + _backoff(state.attempts)


def _backoff(attempts):
    config = current_app.config
    seconds = config["CRM_WRITEBACK_RETRY_BASE_SECONDS"] * 2 ** (attempts - 1)
    return timedelta(seconds=min(seconds, config["CRM_WRITEBACK_RETRY_MAX_SECONDS"]))


def _raise_unavailable(exc):
    if exc.kind in UNAVAILABLE:
        raise WritebackUnavailable(str(exc)) from exc


# -- the scheduled push: a connection-wide wait after failures ------------------


def retry_state():
    """``{"failures": n, "retry_at": iso or None, "error": str}`` of the scheduled push."""
    stored = get_setting(RETRY, {}) or {}
    return {
        "failures": int(stored.get("failures", 0)),
        "retry_at": stored.get("retry_at"),
        "error": stored.get("error", ""),
    }


def push_now(client, deadline=None):
    """``push_due``, remembering a failure (the next scheduled try waits) or clearing it."""
    try:
        result = push_due(client, deadline)
    except WritebackUnavailable as exc:
        db.session.rollback()
        remember_failure(exc)
        raise
    if retry_state()["failures"]:
        set_setting(RETRY, {})
    return result


def remember_failure(exc):
    """One more failure in a row: the scheduled push waits longer before its next try."""
    failures = retry_state()["failures"] + 1
    retry_at = utcnow() + _backoff(failures)
    set_setting(RETRY, {"failures": failures, "retry_at": retry_at.isoformat(), "error": str(exc)})


def run_scheduled(seconds=SCHEDULED_SECONDS):
    """The scheduler's push, for at most ``seconds``: a summary, or why it did nothing.

    Skipped without a connection, while waiting after a failure, and while another
    push runs (a Redis lock: two at once would only repeat each other's work).
    """
    if waiting_for_retry():
        return {"skipped": "waiting after a failure", **retry_state()}
    redis = get_redis()
    if not redis.set(LOCK, "1", nx=True, ex=LOCK_SECONDS):
        return {"skipped": "another write-back is running"}
    try:
        return _run_scheduled(seconds)
    finally:
        redis.delete(LOCK)


def _logged_in_client():
    """``connection.client()``, asked twice when the login is refused: vtiger keeps one login
    challenge per user, so the sync logging in at the same moment makes one of the two fail."""
    try:
        return connection.client()
    except VtigerError as exc:
        if exc.kind != "credentials":
            raise
    time.sleep(random.uniform(0.5, 2.0))
    return connection.client()


def _run_scheduled(seconds):
    try:
        client = _logged_in_client()
    except connection.NotConnected as exc:
        return {"skipped": str(exc)}
    except VtigerError as exc:
        remember_failure(exc)
        return {"error": str(exc)}
    with client:
        try:
            result = push_now(client, deadline=time.monotonic() + seconds)
        except WritebackUnavailable as exc:
            return {"error": str(exc)}
    return {"summary": result.summary(), "pushed": result.pushed, "failed": result.failed}


def waiting_for_retry(now=None):
    """True while the scheduled push waits after a failure."""
    retry_at = retry_state()["retry_at"]
    return bool(retry_at) and datetime.fromisoformat(retry_at) > (now or utcnow())


def due_counts():
    """``(due, failing)``: records due a write-back, and those of them failing."""
    due_total = db.session.scalar(db.select(func.count()).where(CrmWritebackState.due.is_(True)))
    failing = db.session.scalar(
        db.select(func.count()).where(
            CrmWritebackState.due.is_(True), CrmWritebackState.last_error != ""
        )
    )
    return due_total, failing

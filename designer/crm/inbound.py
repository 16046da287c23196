"""Reading vtiger in: one pass over each module's changes since its sync token.

A pass asks vtiger's ``sync`` for the changes of each module after the
module's token, a page at a time (vtiger pages by 100 modification times),
and saves the token only once a page is committed here: a pass that dies
resumes from the last committed page, and a page read twice does nothing
twice. vtiger's times are whole seconds, so each read starts one second
before the last page's end (``next_since``): a change made in that same
second after the page was read is read too, not skipped.

- **First import** (a new connection): pages are written in bulk, the page and
  its token in one transaction, and raise no events: connecting a CRM must not
  mail every contact a welcome. ``records_done`` of ``estimated_total`` (from
  ``SELECT count(*)``) is the progress bar.
- **After it**, every create, update and delete goes through the hook path
  (``workflows.receive_event``, source ``crm:vtiger``) with the id
  ``<vtiger id>@<modifiedtime>``, so workflows fire on edits made in vtiger and
  a page read again runs nothing twice. An edit that changes nothing Designer
  keeps (a field not read, the counts the write-back puts in vtiger) raises
  no event.
- **Deletions**: vtiger's ``sync`` reports deleted accounts, products, quotes
  and invoices, but not deleted contacts. For contacts, each pass compares
  vtiger's ``SELECT count(*)`` with the last pass's plus the contacts new here
  and, when it is lower (and at least every ``SWEEP_EVERY`` anyway), asks
  vtiger which of our ids still exist (``SELECT id … WHERE id IN (…)``, 100 at
  a time). A deleted record is archived here; its messages stay.
- ``emailoptout`` in vtiger puts the address on the suppression list; clearing it
  lifts only that suppression (an unsubscribe or a bounce stays).
- Owners: vtiger's users are read each pass and matched to our users by e-mail;
  one with no user here becomes a disabled user without password (an owner
  only: nobody logs in as it).
"""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from designer import workflows
from designer.broker import get_redis
from designer.clock import utcnow
from designer.crm import connection, mapping
from designer.crm.client import QUERY_PAGE, VtigerError, quoted_ids
from designer.crm.models import CrmFieldMap, CrmOwner
from designer.extensions import db
from designer.mail import consent
from designer.records.upsert import (
    BULK_MODULES,
    InvalidRecord,
    archive_record,
    create_many,
    held_external_ids,
    live_external_ids,
    owner_user,
    preloaded,
    upsert_product,
    upsert_record,
)
from designer.workflows.events import InvalidEvent

#: The source of the events a sync raises (no hook source can be called this: no ':').
VTIGER_SOURCE = "crm:vtiger"
LOCK = "designer:crm:sync"
#: Seconds the pass lock lasts without a page done (renewed after every page).
LOCK_SECONDS = 600
#: Contacts we hold are checked against vtiger at least this often (see the docstring).
SWEEP_EVERY = timedelta(hours=1)
SWEPT_MODULES = ("Contacts",)
MAX_ERRORS = 20


class SyncBusy(RuntimeError):
    """Another pass is running (the scheduler's, or a ``designer crm sync``)."""


@dataclass
class Counts:
    """What a pass did to one module."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    pages: int = 0
    skipped: list = field(default_factory=list)  # "<vtiger id>: reason"

    def skip(self, record_id, reason):
        if len(self.skipped) < MAX_ERRORS:
            self.skipped.append(f"{record_id}: {reason}")

    def line(self, module):
        name = mapping.MODULES[module] + "s"
        text = f"{name}: created {self.created}, updated {self.updated}, deleted {self.deleted}"
        return text + (f", skipped {len(self.skipped)}" if self.skipped else "")


@dataclass
class Pass:
    """One pass's vtiger session and what mapping needs."""

    vt: object
    context: mapping.Context
    sync_type: str
    deadline: float | None = None
    lock: object = None
    after_page: object = None
    prefixes: dict = field(default_factory=dict)


def run_pass(modules=None, budget=None, after_page=None):
    """Read each module's changes now; ``{vtiger module: Counts}``.

    ``budget`` (seconds) ends the pass after the page that passes it (the
    scheduler's passes; the next one continues); ``after_page(module, state)``
    is called after each committed page. ``SyncBusy``, ``NotConnected`` or
    ``VtigerError`` when it cannot run.
    """
    lock = get_redis().lock(LOCK, timeout=LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        raise SyncBusy("a sync is running already; try again when it has finished")
    try:
        return _run(modules, budget, after_page, lock)
    finally:
        if lock.owned():
            lock.release()


def _run(modules, budget, after_page, lock):
    saved = connection.get_connection()
    try:
        with connection.client() as vt:
            run = Pass(
                vt=vt,
                context=load_context(vt),
                sync_type="application" if saved.is_admin else "userandgroup",
                deadline=time.monotonic() + budget if budget else None,
                lock=lock,
                after_page=after_page,
            )
            results = {}
            for state in connection.sync_states():
                if modules and state.module not in modules:
                    continue
                if saved.modules and state.module not in saved.modules:
                    continue  # the vtiger user cannot reach it: shown on the page
                results[state.module] = sync_module(run, state)
                if run.deadline and time.monotonic() > run.deadline:
                    break
    except VtigerError as exc:
        db.session.rollback()
        saved = connection.get_connection()
        saved.last_error = connection.explain(exc)
        db.session.commit()
        raise
    saved = connection.get_connection()
    saved.last_sync_at, saved.last_error = utcnow(), ""
    db.session.commit()
    return results


# -- context ------------------------------------------------------------------


def load_context(vt):
    """Owners (vtiger users matched to ours), currencies and custom field choices."""
    context = mapping.Context(owners=load_owners(vt), currencies=_currencies(vt))
    for choice in db.session.scalars(db.select(CrmFieldMap)):
        context.custom.setdefault(choice.vtiger_module, {})[choice.vtiger_field] = choice.field
    return context


def load_owners(vt):
    """``{vtiger user id: e-mail}``, each vtiger user matched to (or made as) a user here."""
    try:
        users = list(vt.query_all("SELECT id, user_name, first_name, last_name, email1 FROM Users"))
    except VtigerError as exc:
        if exc.kind != "denied":
            raise
        users = []  # a user who may not list users: records keep the owners they have
    known = {o.vtiger_id: o for o in db.session.scalars(db.select(CrmOwner))}
    owners = {}
    for row in users:
        name = f"{row.get('first_name') or ''} {row.get('last_name') or ''}".strip()
        user = owner_user(row.get("email1"), name or row.get("user_name"))
        link = known.get(row["id"]) or CrmOwner(vtiger_id=row["id"])
        link.user_name, link.user = str(row.get("user_name") or "")[:100], user
        db.session.add(link)
        if user is not None:
            owners[row["id"]] = user.email
    db.session.commit()
    return owners


def _currencies(vt):
    try:
        rows = vt.query("SELECT id, currency_code FROM Currency;")
    except VtigerError:
        return {}
    return {mapping.number(r.get("id")): str(r.get("currency_code") or "") for r in rows}


# -- one module ---------------------------------------------------------------


def sync_module(run, state):
    """Every page of ``state.module``'s changes since its token (or until the budget)."""
    counts, module = Counts(), state.module
    if state.importing and state.pages_done == 0:
        state.estimated_total = estimate(run.vt, module, state.token)
        state.started_at, state.last_error = utcnow(), ""
        db.session.commit()
    since = max(state.token - 1, 0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(run.vt.sync, module, since, run.sync_type)
        while True:
            page = pending.result()
            token = int(page.get("lastModifiedTime") or 0)
            following = next_since(since, token)
            more = bool(page.get("more")) and following > since  # vtiger always moves on
            if more:  # read the next page while this one is written
                pending = pool.submit(run.vt.sync, module, following, run.sync_type)
            since = following
            apply_page(run, state, page, counts)
            state.token = max(state.token, token)
            state.pages_done, state.last_run_at = state.pages_done + 1, utcnow()
            counts.pages += 1
            db.session.commit()  # the token, after the page
            if run.lock is not None:
                run.lock.reacquire()
            if run.after_page is not None:
                run.after_page(module, state)
            if not more or (run.deadline and time.monotonic() > run.deadline):
                break
    if not more and state.importing:
        # what was just imported is what vtiger has: no sweep needed before the next hour
        state.importing, state.finished_at = False, utcnow()
        state.last_sweep_at = state.finished_at
        db.session.commit()
    if module in SWEPT_MODULES and not more:
        sweep_deletions(run, state, counts)
    return counts


def estimate(vt, module, since):
    """How many records of ``module`` vtiger holds (changed after ``since``)."""
    where = ""
    if since:
        where = f" WHERE modifiedtime > '{datetime.fromtimestamp(since):%Y-%m-%d %H:%M:%S}'"
    try:
        rows = vt.query(f"SELECT count(*) FROM {module}{where};")  # noqa: S608 (our names and time)
        return int(rows[0]["count"])
    except (VtigerError, LookupError, TypeError, ValueError):
        return 0


def next_since(since, token):
    """Where to read on from after a page that ended at ``token`` (a whole second).

    vtiger's ``sync`` returns changes *after* a second, and a change can land in
    the very second a page ended with, after that page was read: asking from one
    second earlier reads that second again (a record read twice is applied once),
    so such a change is never skipped. When that second alone fills a page (100
    changes in one second), reading on from it is the only way forward.
    """
    return token - 1 if token - 1 > since else token


def apply_page(run, state, page, counts):
    updated = [r for r in page.get("updated") or [] if isinstance(r, dict) and r.get("id")]
    deleted = [i for i in page.get("deleted") or [] if isinstance(i, str)]
    mapped = map_page(run, state.module, updated)
    if state.importing:
        import_page(state, mapped, counts)
        archive_deleted(state.module, deleted, counts)
        state.records_done += len(updated)
    else:
        raise_events(state, mapped, counts)
        delete_events(state.module, deleted, page.get("lastModifiedTime"), counts)
    suppress_opt_outs(state.module, updated)


# -- mapping a page, with what its records refer to ----------------------------


def map_page(run, module, records):
    """``[(vtiger record, our record)]``; what they refer to and we lack is read in first."""
    ours = mapping.MODULES[module]
    if ours == "contact":
        ensure_held(run, "Accounts", [mapping.reference(r.get("account_id")) for r in records])
        return [(r, mapping.contact(r, run.context)) for r in records]
    if ours == "organisation":
        return [(r, mapping.organisation(r, run.context)) for r in records]
    if ours == "product":
        return [(r, mapping.product(r, run.context)) for r in records]
    return map_documents(run, ours, records)


def map_documents(run, kind, records):
    items = line_items(run.vt, [r["id"] for r in records])
    product_ids = [mapping.reference(i.get("productid")) for rows in items.values() for i in rows]
    ensure_held(run, "Products", product_ids)
    ensure_held(run, "Accounts", [mapping.reference(r.get("account_id")) for r in records])
    ensure_held(run, "Contacts", [mapping.reference(r.get("contact_id")) for r in records])
    skus = product_skus(product_ids)
    return [
        (r, mapping.document(kind, r, items.get(r["id"], []), skus, run.context)) for r in records
    ]


def line_items(vt, document_ids):
    """``{document id: [InventoryItem rows]}``: one query per document, because vtiger
    filters line items by ``parentid`` but answers it as null (the Defalto this was
    tested with), so rows of several documents could not be told apart."""
    found = {}
    for document_id in document_ids:
        listed = quoted_ids([document_id])
        if listed:
            query = f"SELECT * FROM InventoryItem WHERE parentid={listed}"  # noqa: S608 (id checked)
            found[document_id] = list(vt.query_all(query))
    return found


def product_skus(product_ids):
    from designer.records.models import Product

    wanted = [i for i in set(product_ids) if i]
    if not wanted:
        return {}
    rows = db.session.execute(
        db.select(Product.external_id, Product.sku).where(Product.external_id.in_(wanted))
    )
    return dict(rows.all())


def ensure_held(run, module, ids):
    """Read in the records of ``module`` these ids name that we do not hold yet."""
    ours = mapping.MODULES[module]
    missing = sorted({i for i in ids if i} - held_external_ids(ours, ids))
    if not missing:
        return
    records = list(run.vt.retrieve_many(module, missing))
    for _, data in map_page(run, module, records):
        try:
            upsert_product(data) if ours == "product" else upsert_record(ours, data)
        except InvalidRecord:
            continue  # the record that refers to it says so
        db.session.flush()


# -- writing a page -------------------------------------------------------------


def import_page(state, mapped, counts):
    """The first import: every record of the page written in bulk, no events."""
    ours = mapping.MODULES[state.module]
    with preloaded(ours, [data for _, data in mapped]):
        _import_records(ours, mapped, counts)


def _import_records(ours, mapped, counts):
    if ours in BULK_MODULES:  # the new ones in one INSERT, the others one by one
        created, refused, rest = create_many(ours, [data for _, data in mapped])
        counts.created += len(created)
        for external_id, exc in refused.items():
            counts.skip(external_id, str(exc))
        left = {id(data) for data in rest}
        mapped = [(record, data) for record, data in mapped if id(data) in left]
    for record, data in mapped:
        try:
            if ours == "product":
                _, created, changes = upsert_product(data)
            else:
                _, created, changes = upsert_record(ours, data)
        except InvalidRecord as exc:
            counts.skip(record["id"], str(exc))
            continue
        _count(counts, created, changes)


def raise_events(state, mapped, counts):
    """After the first import: each change an event, as a hook would post it."""
    ours = mapping.MODULES[state.module]
    if ours == "product":  # products raise no events: written as they come
        import_page(state, mapped, counts)
        return
    db.session.commit()
    held = held_external_ids(ours, [data["id"] for _, data in mapped])
    for record, data in mapped:
        if data["id"] in held and not _changes_anything(ours, record, data, counts):
            continue
        action = "updated" if data["id"] in held else "created"
        event = {
            "id": f"{record['id']}@{record.get('modifiedtime') or ''}",
            "type": f"{ours}.{action}",
            "record": data,
            "occurred_at": _iso(record.get("modifiedtime")),
        }
        try:
            _, duplicate = workflows.receive_event(event, VTIGER_SOURCE)
        except InvalidEvent as exc:
            counts.skip(record["id"], str(exc))
            continue
        if duplicate:
            counts.unchanged += 1
        else:
            _count(counts, action == "created", {"": 1})


def _changes_anything(ours, record, data, counts):
    """Whether writing ``data`` would change the record (tried, then rolled back)."""
    try:
        _, _, changes = upsert_record(ours, data)
    except InvalidRecord as exc:
        db.session.rollback()
        counts.skip(record["id"], str(exc))
        return False
    db.session.rollback()
    if not changes:
        counts.unchanged += 1
    return bool(changes)


def _count(counts, created, changes):
    if created:
        counts.created += 1
    elif changes:
        counts.updated += 1
    else:
        counts.unchanged += 1


def archive_deleted(module, ids, counts):
    """Archive the held records vtiger deleted (first import: no events)."""
    ours = mapping.MODULES[module]
    for external_id in held_external_ids(ours, ids, live=True):
        archive_record(ours, {"id": external_id})
        counts.deleted += 1


def delete_events(module, ids, token, counts, tag=None):
    """A ``<module>.deleted`` event for each held record vtiger deleted."""
    ours = mapping.MODULES[module]
    if ours == "product":
        archive_deleted(module, ids, counts)
        return
    for external_id in sorted(held_external_ids(ours, ids, live=True)):
        event = {
            "id": f"{external_id}@deleted@{tag or token}",
            "type": f"{ours}.deleted",
            "record": {"id": external_id},
        }
        try:
            _, duplicate = workflows.receive_event(event, VTIGER_SOURCE)
        except InvalidEvent as exc:
            counts.skip(external_id, str(exc))
            continue
        counts.deleted += 0 if duplicate else 1


def suppress_opt_outs(module, records):
    """Addresses that opted out of e-mail in vtiger go on the suppression list; those whose
    opt-out was cleared lose a suppression the opt-out made (``consent.apply_crm_opt_outs``,
    as for hooks and the API)."""
    if module not in ("Accounts", "Contacts"):
        return
    key = "email1" if module == "Accounts" else "email"
    opt_outs = {}
    for record in records:
        address = mapping.email(record.get(key))
        if address:
            opt_outs[address] = opt_outs.get(address, False) or mapping.opted_out(record)
    consent.apply_crm_opt_outs(opt_outs)  # committed with the page and its token


# -- deletions vtiger's sync does not report -------------------------------------


def sweep_deletions(run, state, counts):
    """Archive the contacts we hold that vtiger no longer has (its sync does not say).

    vtiger's count is compared with the last pass's plus the records new here
    since: fewer means something was deleted, and our ids are checked (100 per
    query). They are checked every ``SWEEP_EVERY`` anyway (a deletion hidden
    by a creation at the same moment).
    """
    ours = mapping.MODULES[state.module]
    total = estimate(run.vt, state.module, 0)
    expected = state.vtiger_count + counts.created
    due = state.last_sweep_at is None or utcnow() - state.last_sweep_at >= SWEEP_EVERY
    state.vtiger_count = total
    db.session.commit()
    if not due and total >= expected:
        return
    held = live_external_ids(ours, id_prefix(run, state.module))
    gone = []
    for start in range(0, len(held), QUERY_PAGE):
        chunk = held[start : start + QUERY_PAGE]
        present = {r.get("id") for r in run.vt.retrieve_many(state.module, chunk, "id")}
        gone.extend(i for i in chunk if i not in present)
    if state.importing:
        archive_deleted(state.module, gone, counts)
        db.session.commit()
    else:
        delete_events(state.module, gone, None, counts, tag=f"sweep{int(time.time())}")
    state.last_sweep_at = utcnow()
    db.session.commit()


def id_prefix(run, module):
    """``"25x"``: how vtiger's ids of ``module`` begin (from ``describe``)."""
    if module not in run.prefixes:
        run.prefixes[module] = f"{run.vt.describe(module)['idPrefix']}x"
    return run.prefixes[module]


def _iso(modified):
    text = str(modified or "").strip()
    return text.replace(" ", "T") + "Z" if len(text) == 19 else None

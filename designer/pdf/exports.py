"""Batch export: many records' PDFs rendered by all workers, packed as a zip or one PDF.

``start_export`` writes the export and one item per record, then queues the
items in chunks on the ``pdf`` queue, so every worker takes part. Each chunk
renders its records one by one; a record that fails (a merge error, a
missing record) is kept with its reason and does not stop the others. The
chunk that finishes last packs the result — a zip of one PDF per record
(plus ``errors.txt`` naming the records that failed), or all PDFs merged
into one in the order chosen — and the export page offers it for download.
"""

import io
import zipfile

import pypdfium2
from flask_babel import gettext as _
from sqlalchemy import update

from designer import broker
from designer.clock import utcnow
from designer.extensions import db
from designer.pdf.defaults import pdf_template_for
from designer.pdf.documents import PdfFailed, recipient_language, render_record_pdf
from designer.pdf.models import PdfExport, PdfExportItem
from designer.pdf.pictures import page_count
from designer.records import MODULES, RecordNotFound, get_record
from designer.templating import TemplateNotFound, get_template

PACKINGS = ("zip", "merged")
#: Records per job: big enough that queueing costs little, small enough to share out.
CHUNK = 25
MAX_RECORDS = 5000


class ExportInvalid(ValueError):
    """The export cannot be started as asked (the message says why)."""


def start_export(user, module, record_ids, *, template_id=None, packing="zip"):
    """Write the export and its items, queue the chunks; return the ``PdfExport``."""
    ids = _checked(module, record_ids, template_id, packing)
    export = PdfExport(
        user_id=user.id,
        module=module,
        template_id=template_id,
        record_ids=ids,
        packing=packing,
        total=len(ids),
    )
    db.session.add(export)
    db.session.flush()
    items = [
        PdfExportItem(export_id=export.id, position=i, record_id=record_id)
        for i, record_id in enumerate(ids)
    ]
    db.session.add_all(items)
    db.session.commit()
    _enqueue(export, [item.id for item in items])
    return export


def _checked(module, record_ids, template_id, packing):
    if module not in MODULES:
        raise ExportInvalid(_("unknown module “%(module)s”", module=module))
    if packing not in PACKINGS:
        raise ExportInvalid(_("choose a zip of PDFs or one merged PDF"))
    try:
        ids = list(dict.fromkeys(int(value) for value in record_ids))
    except (TypeError, ValueError):
        raise ExportInvalid(_("record ids must be numbers")) from None
    if not ids:
        raise ExportInvalid(_("no records chosen: there is nothing to export"))
    if len(ids) > MAX_RECORDS:
        raise ExportInvalid(
            _(
                "at most %(max)s records per export (%(count)s chosen)",
                max=MAX_RECORDS,
                count=len(ids),
            )
        )
    if template_id is not None:
        try:
            pdf_template_for(module, template_id=template_id)
        except TemplateNotFound as exc:
            raise ExportInvalid(str(exc)) from exc
    return ids


def _enqueue(export, item_ids):
    chunks = [item_ids[i : i + CHUNK] for i in range(0, len(item_ids), CHUNK)]
    broker.enqueue_many(
        broker.PDF, broker.RENDER_EXPORT_CHUNK, [(export.id, chunk) for chunk in chunks]
    )


def render_chunk(export_id, item_ids):
    """Render the items of one chunk; the chunk that completes the export packs it."""
    export = db.session.get(PdfExport, export_id)
    if export is None:
        return 0
    _set_running(export_id)
    for item_id in item_ids:
        item = db.session.get(PdfExportItem, item_id)
        if item is not None and item.data is None and not item.error:
            _render_item(export, item)
    if _claim_packing(export_id):
        pack(db.session.get(PdfExport, export_id))
    return len(item_ids)


def _set_running(export_id):
    db.session.execute(
        update(PdfExport)
        .where(PdfExport.id == export_id, PdfExport.state == "queued")
        .values(state="running")
    )
    db.session.commit()


def _render_item(export, item):
    counter = "rendered"
    try:
        record = get_record(export.module, item.record_id)
        item.label = record_label(export.module, record)
        template = _template(export, record)
        pdf = render_record_pdf(template, export.module, record, user=_user(export))
        item.filename, item.data, item.pages = pdf.filename, pdf.data, page_count(pdf.data)
    except (PdfFailed, RecordNotFound, TemplateNotFound) as exc:
        item.label = item.label or f"{export.module} {item.record_id}"
        item.error = str(exc) or exc.__class__.__name__
        counter = "failed"
    db.session.execute(
        update(PdfExport)
        .where(PdfExport.id == export.id)
        .values({counter: getattr(PdfExport, counter) + 1})
    )
    db.session.commit()


def _template(export, record):
    if export.template_id is not None:
        return get_template(export.template_id)
    language = recipient_language(export.module, record)
    return pdf_template_for(export.module, language=language)


def _user(export):
    from designer.records.models import User

    return db.session.get(User, export.user_id)


def record_label(module, record):
    """How a record is named in progress and error lists: ``invoice INV-2026-0042``."""
    name = getattr(record, "number", None) or getattr(record, "name", None)
    name = name or getattr(record, "full_name", None) or f"#{record.id}"
    return f"{module.replace('_', ' ')} {name}"


def _claim_packing(export_id):
    """True for exactly one caller, once every item is rendered or failed."""
    result = db.session.execute(
        update(PdfExport)
        .where(
            PdfExport.id == export_id,
            PdfExport.state.in_(("queued", "running")),
            PdfExport.rendered + PdfExport.failed >= PdfExport.total,
        )
        .values(state="packing")
    )
    db.session.commit()
    return result.rowcount == 1


def pack(export):
    """Build the download from the rendered items and mark the export done."""
    items = db.session.scalars(
        db.select(PdfExportItem)
        .where(PdfExportItem.export_id == export.id)
        .order_by(PdfExportItem.position)
    ).all()
    done = [item for item in items if item.data]
    stamp = utcnow().strftime("%Y-%m-%d")
    if export.packing == "merged" and done:
        export.result, export.filename = merged_pdf(done), f"{export.module}-{stamp}.pdf"
    else:
        export.result, export.filename = zipped(items), f"{export.module}-{stamp}.zip"
    export.state, export.finished_at = "done", utcnow()
    db.session.commit()


def zipped(items):
    """A zip of each rendered PDF (names made unique) and ``errors.txt`` for failures."""
    buffer, names = io.BytesIO(), set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in items:
            if item.data:
                archive.writestr(_unique(item.filename, names), item.data)
        failures = [f"{item.label}: {item.error}" for item in items if item.error]
        if failures:
            archive.writestr("errors.txt", "Not exported:\n" + "\n".join(failures) + "\n")
    return buffer.getvalue()


def _unique(filename, taken):
    stem, dot, ext = filename.rpartition(".")
    candidate, n = filename, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    taken.add(candidate)
    return candidate


def merged_pdf(items):
    """One PDF of every rendered item's pages, in order."""
    merged = pypdfium2.PdfDocument.new()
    try:
        for item in items:
            part = pypdfium2.PdfDocument(item.data)
            try:
                merged.import_pages(part)
            finally:
                part.close()
        buffer = io.BytesIO()
        merged.save(buffer)
        return buffer.getvalue()
    finally:
        merged.close()


def progress(export):
    """What the export page and API show while it runs and after."""
    failures = db.session.execute(
        db.select(PdfExportItem.label, PdfExportItem.error)
        .where(PdfExportItem.export_id == export.id, PdfExportItem.error != "")
        .order_by(PdfExportItem.position)
    ).all()
    finished = export.rendered + export.failed
    return {
        "id": export.id,
        "state": export.state,
        "total": export.total,
        "rendered": export.rendered,
        "failed": export.failed,
        "percent": round(100 * finished / export.total, 1) if export.total else 100.0,
        "failures": [{"record": label, "error": error} for label, error in failures],
        "download": export.state == "done" and export.result is not None,
        "filename": export.filename,
    }

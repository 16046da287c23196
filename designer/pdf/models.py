"""Batch exports: one request to render many records' PDFs, and each record's result."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from designer.clock import utcnow
from designer.extensions import db


class PdfExport(db.Model):
    """Records of one module rendered in chunks by the workers, then packed for download."""

    __tablename__ = "pdf_exports"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    module: Mapped[str] = mapped_column(String(30))
    #: None: each record gets its default PDF template (by module and language).
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id"))
    record_ids: Mapped[list] = mapped_column(JSON, default=list)
    #: "zip" (one PDF per record) or "merged" (one PDF of them all, in order).
    packing: Mapped[str] = mapped_column(String(10), default="zip")
    state: Mapped[str] = mapped_column(String(10), default="queued")  #: queued/running/done
    total: Mapped[int] = mapped_column(default=0)
    rendered: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    filename: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class PdfExportItem(db.Model):
    """One record of an export: its PDF, or why it failed."""

    __tablename__ = "pdf_export_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("pdf_exports.id"), index=True)
    position: Mapped[int]
    record_id: Mapped[int]
    label: Mapped[str] = mapped_column(String(200), default="")
    filename: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    pages: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")

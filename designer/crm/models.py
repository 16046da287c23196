"""CRM connection tables: the saved vtiger connection, the sync state of each module,
which vtiger custom field feeds which Designer field, and which vtiger user is which of ours."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from designer.clock import utcnow
from designer.extensions import db
from designer.records.models import User


class CrmConnection(db.Model):
    """The one vtiger this installation reads (one row); the access key is stored encrypted."""

    __tablename__ = "crm_connections"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    user_name: Mapped[str] = mapped_column(String(100))
    access_key_encrypted: Mapped[str] = mapped_column(Text)
    #: What vtiger said when the connection was last tested.
    vtiger_version: Mapped[str] = mapped_column(String(40), default="")
    is_admin: Mapped[bool] = mapped_column(default=False)
    modules: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_sync_at: Mapped[datetime | None]
    #: The last pass's failure in words (empty when it went well).
    last_error: Mapped[str] = mapped_column(Text, default="")


class CrmSyncState(db.Model):
    """Where the sync of one vtiger module stands: its token and the first import's progress.

    ``token`` is vtiger's ``lastModifiedTime`` of the last page committed here:
    the next pass asks for changes after it. While ``importing``, pages are
    imported in bulk (no workflows run); ``records_done`` of ``estimated_total``
    is the progress bar.
    """

    __tablename__ = "crm_sync_states"
    id: Mapped[int] = mapped_column(primary_key=True)
    module: Mapped[str] = mapped_column(String(40), unique=True)
    token: Mapped[int] = mapped_column(default=0)
    importing: Mapped[bool] = mapped_column(default=True)
    pages_done: Mapped[int] = mapped_column(default=0)
    records_done: Mapped[int] = mapped_column(default=0)
    estimated_total: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    #: When the ids we hold were last checked against vtiger (deletions it does not report).
    last_sweep_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")


class CrmFieldMap(db.Model):
    """A vtiger custom field (``cf_…``) read into a Designer custom field of a module."""

    __tablename__ = "crm_field_maps"
    __table_args__ = (UniqueConstraint("vtiger_module", "vtiger_field"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    vtiger_module: Mapped[str] = mapped_column(String(40))
    vtiger_field: Mapped[str] = mapped_column(String(100))
    module: Mapped[str] = mapped_column(String(30))
    field: Mapped[str] = mapped_column(String(64))


class CrmOwner(db.Model):
    """A vtiger user (``19x5``) and the Designer user its records' ``assigned_user_id`` means."""

    __tablename__ = "crm_owners"
    id: Mapped[int] = mapped_column(primary_key=True)
    vtiger_id: Mapped[str] = mapped_column(String(40), unique=True)
    user_name: Mapped[str] = mapped_column(String(100), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User | None] = relationship()

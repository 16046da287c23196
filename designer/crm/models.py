"""CRM connection tables: the saved vtiger connection, the sync state of each module,
which vtiger custom field feeds which Designer field, and which vtiger user is which of ours."""

from datetime import UTC, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
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
    #: ``SELECT count(*)`` at the end of the last pass (-1: not counted yet).
    vtiger_count: Mapped[int] = mapped_column(default=-1)
    last_error: Mapped[str] = mapped_column(Text, default="")

    @property
    def token_time(self):
        """The token as a naive UTC time (None before anything was read)."""
        return datetime.fromtimestamp(self.token, UTC).replace(tzinfo=None) if self.token else None


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


class CrmWritebackState(db.Model):
    """A record whose counts are due to be written back to vtiger, and what was written."""

    __tablename__ = "crm_writeback_states"
    __table_args__ = (
        UniqueConstraint("module", "record_id"),
        Index("ix_crm_writeback_states_due", "due", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    module: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[int]
    due: Mapped[bool] = mapped_column(default=True)
    pushed: Mapped[dict] = mapped_column(JSON, default=dict)
    external_id: Mapped[str] = mapped_column(String(100), default="")
    pushed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")


class CrmMessageRecord(db.Model):
    """A message recorded in vtiger against one of its records."""

    __tablename__ = "crm_message_records"
    __table_args__ = (UniqueConstraint("message_id", "module"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    vtiger_id: Mapped[str] = mapped_column(String(100))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")

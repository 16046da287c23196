"""Workflow tables: hook sources, the events they post, workflows and their run log."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from designer.clock import utcnow
from designer.extensions import db


class HookSource(db.Model):
    """A system allowed to post events, with the secret its requests are signed with (two
    secrets while a rotation lasts)."""

    __tablename__ = "hook_sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    #: During a rotation, the secret before the current one, valid until ``previous_secret_until``.
    previous_secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    previous_secret_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_event_at: Mapped[datetime | None]


class Event(db.Model):
    """A record event, stored before it is answered: from a hook source or from the app.

    ``(source, event_id)`` is unique, so an event delivered twice is stored
    (and run) once.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "event_id"),
        #: The processor takes the oldest waiting events: a few among millions done.
        Index(
            "ix_events_waiting",
            "id",
            postgresql_where=text("state IN ('received', 'pending')"),
            sqlite_where=text("state IN ('received', 'pending')"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    module: Mapped[str] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[int | None]
    record_ref: Mapped[str] = mapped_column(String(100), default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: "received" (posted, its record not written yet), "pending" until the workflows have
    #: run for it, then "done" (or "failed").
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    processed_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")


class Workflow(db.Model):
    """A rule: on a trigger, when the conditions hold, run the actions in order.

    ``trigger``, ``conditions``, ``actions`` and ``repeat`` are JSON, checked by
    ``designer.workflows.rules.validate`` before they are stored.
    """

    __tablename__ = "workflows"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    module: Mapped[str] = mapped_column(String(30))
    enabled: Mapped[bool] = mapped_column(default=False)
    trigger: Mapped[dict] = mapped_column(JSON, default=dict)
    conditions: Mapped[dict] = mapped_column(JSON, default=dict)
    actions: Mapped[list] = mapped_column(JSON, default=list)
    repeat: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    runs: Mapped[list["WorkflowRun"]] = relationship(
        back_populates="workflow", cascade="all, delete-orphan", passive_deletes=True
    )


class WorkflowRun(db.Model):
    """One run of a workflow for one record: what was evaluated, done and sent.

    ``fire_key`` names what fired it (an event, a date); unique per workflow,
    so the same event or the same due date never runs a workflow twice. Test
    runs have none.
    """

    __tablename__ = "workflow_runs"
    __table_args__ = (
        UniqueConstraint("workflow_id", "fire_key"),
        Index("ix_workflow_runs_workflow_record", "workflow_id", "record_id"),
        #: The run log is read newest first in cursor pages (``api.cursors``).
        Index("ix_workflow_runs_workflow_id_id", "workflow_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    cause: Mapped[str] = mapped_column(String(10))  #: "event", "schedule" or "manual"
    fire_key: Mapped[str | None] = mapped_column(String(200))
    module: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[int]
    #: "sent" (actions ran), "held_back" (every message held back by the suppression
    #: list), "nothing", "no_match", "repeat" (blocked by repeat protection), "failed".
    outcome: Mapped[str] = mapped_column(String(12))
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    actions: Mapped[list] = mapped_column(JSON, default=list)
    message_ids: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    workflow: Mapped[Workflow] = relationship(back_populates="runs")
    event: Mapped[Event | None] = relationship()

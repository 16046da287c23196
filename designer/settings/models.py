"""One row per setting: a key and a JSON value."""

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from designer.extensions import db


class Setting(db.Model):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)

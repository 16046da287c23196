"""CRM records: users, organisations, contacts, products and documents with lines.

These mirror what a CRM such as vtiger holds. ``external_id`` is the record's
id in the CRM that sent it (events and imports upsert by it).
"""

from datetime import date, datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from designer.clock import utcnow
from designer.extensions import db

ROLES = ("admin", "marketer")
DOCUMENT_KINDS = ("quote", "invoice")
CENT = Decimal("0.01")


class User(UserMixin, db.Model):
    """Someone who logs in and on whose behalf mail is sent."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(20), default="marketer")
    title: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    language: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    date_format: Mapped[str] = mapped_column(String(20), default="medium")
    #: The interface's language (``designer.i18n.LANGUAGES``); None follows the browser.
    ui_language: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set while the user may not log in; their templates, messages and history stay.
    disabled_at: Mapped[datetime | None]
    #: Raised to end every login session of the user (password change, disabling).
    session_version: Mapped[int] = mapped_column(default=1)
    #: The password is still the demo data's: ``designer serve`` keeps off the network.
    demo_password: Mapped[bool] = mapped_column(default=False)
    #: HTML signature, sanitised (``designer.records.signatures``); ``{{ sender.signature }}``.
    signature: Mapped[str] = mapped_column(Text, default="")

    @property
    def is_admin(self):
        return self.role == "admin"

    @property
    def is_active(self):
        """Flask-Login's question: may this user log in (not disabled)?"""
        return self.disabled_at is None

    @property
    def has_password(self):
        """False for an invited user who has not chosen a password yet."""
        return bool(self.password_hash)

    def set_password(self, password):
        """Store the scrypt hash of ``password`` (rules for chosen passwords are
        ``designer.auth.passwords``'); any change ends the demo password."""
        self.password_hash = generate_password_hash(password, method="scrypt")
        self.demo_password = False

    def check_password(self, password):
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)


class CustomField(db.Model):
    """A field an installation adds to a module; values live in the record's ``custom``."""

    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("module", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    module: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20), default="string")
    example: Mapped[str] = mapped_column(String(200), default="")


class Organisation(db.Model):
    """A company the CRM keeps: vtiger's "Organisations" (accounts)."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    industry: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(10), default="en")
    #: IANA name ("Europe/Amsterdam"); empty: the installation's default.
    timezone: Mapped[str] = mapped_column(String(64), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    custom: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when the CRM deleted the record: it leaves lists and audiences, its messages stay.
    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    owner: Mapped[User | None] = relationship()
    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="organisation", order_by="Contact.last_name"
    )


class Contact(db.Model):
    """A person, usually at an organisation, who receives mail."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    salutation: Mapped[str] = mapped_column(String(20), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(320), default="", index=True)
    phone: Mapped[str] = mapped_column(String(50), default="")
    title: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(10), default="")
    #: IANA name; empty: the organisation's, else the installation's default.
    timezone: Mapped[str] = mapped_column(String(64), default="")
    birthday: Mapped[date | None] = mapped_column(default=None)
    #: Comma-separated labels for audiences, e.g. "vip,newsletter".
    tags: Mapped[str] = mapped_column(String(500), default="")
    custom: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when the CRM deleted the record: it leaves lists and audiences, its messages stay.
    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    organisation: Mapped[Organisation | None] = relationship(back_populates="contacts")

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()


class Product(db.Model):
    """Something sold, listed on quote and invoice lines."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(21))
    #: Set when the CRM deleted the record: it leaves lists and audiences, its messages stay.
    archived_at: Mapped[datetime | None] = mapped_column(default=None)


class Document(db.Model):
    """A quote or an invoice with its lines."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("kind", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(30), default="draft")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issue_date: Mapped[date]
    due_date: Mapped[date | None]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when the CRM deleted the record: it leaves lists and audiences, its messages stay.
    archived_at: Mapped[datetime | None] = mapped_column(default=None)

    organisation: Mapped[Organisation | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    owner: Mapped[User | None] = relationship()
    lines: Mapped[list["DocumentLine"]] = relationship(
        back_populates="document", order_by="DocumentLine.position", cascade="all, delete-orphan"
    )

    @property
    def subtotal(self):
        return sum((line.net for line in self.lines), Decimal(0))

    @property
    def tax_total(self):
        return sum((line.tax for line in self.lines), Decimal(0))

    @property
    def total(self):
        return self.subtotal + self.tax_total


class DocumentLine(db.Model):
    """One line of a document: product, quantity, price, discount and tax."""

    __tablename__ = "document_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3), default=Decimal(1))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))

    document: Mapped[Document] = relationship(back_populates="lines")
    product: Mapped[Product | None] = relationship()

    @property
    def net(self):
        gross = Decimal(self.quantity) * Decimal(self.unit_price)
        discount = gross * Decimal(self.discount_percent) / 100
        return (gross - discount).quantize(CENT)

    @property
    def tax(self):
        return (self.net * Decimal(self.tax_rate) / 100).quantize(CENT)

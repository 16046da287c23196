"""The demo data set: realistic, multilingual, idempotent."""

from decimal import Decimal

from designer import settings
from designer.demo import load_demo
from designer.extensions import db
from designer.records import Contact, Document, Organisation, User, recipient_of
from designer.templating import Template


def count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_demo_is_big_enough_and_multilingual(app, demo):
    assert count(Organisation) >= 20 and count(Contact) >= 100
    languages = set(db.session.scalars(db.select(Contact.language)))
    assert {"en", "nl", "de"} <= languages
    roles = {user.role for user in db.session.scalars(db.select(User))}
    assert roles == {"admin", "marketer"}
    assert demo["invoices"] >= 1 and demo["quotes"] >= 1 and demo["templates"] >= 4
    assert settings.company()["name"]


def test_demo_is_idempotent(app, demo):
    before = {model: count(model) for model in (User, Organisation, Contact, Document, Template)}
    assert load_demo() == demo
    assert {model: count(model) for model in before} == before


def test_invoices_have_lines_and_consistent_totals(app, demo):
    invoices = db.session.scalars(db.select(Document).where(Document.kind == "invoice")).all()
    for invoice in invoices:
        assert invoice.lines and invoice.organisation is not None
        assert invoice.total == invoice.subtotal + invoice.tax_total
        assert invoice.subtotal == sum((line.net for line in invoice.lines), Decimal(0))
        assert recipient_of("invoice", invoice).email


def test_demo_users_can_log_in(app, demo):
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    assert admin.is_admin and admin.check_password("demo") and not admin.check_password("x")

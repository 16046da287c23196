"""The template list: search and filters, and a copy of a template to start from."""

from support import csrf_token, log_in

from designer import templating
from designer.extensions import db
from designer.templating import Template


def named(name):
    return db.session.scalar(db.select(Template).where(Template.name == name))


def rows(page):
    """How many templates the library's gallery shows."""
    return page.count('<li class="gallery-card library-card">')


def test_search_and_filters_narrow_the_list(admin_client):
    everything = templating.list_templates()
    assert rows(admin_client.get("/templates").text) == len(everything)
    found = admin_client.get("/templates?q=WELCOME").text
    assert rows(found) == len([t for t in everything if "welcome" in t.name.lower()]) >= 1
    assert ">Welcome</strong>" in found
    pdfs = admin_client.get("/templates?kind=pdf").text
    assert rows(pdfs) == len([t for t in everything if t.kind == "pdf"]) >= 1
    assert "<strong>Welcome</strong>" not in pdfs
    invoices = admin_client.get("/templates?module=invoice&kind=pdf").text
    assert rows(invoices) == len(templating.list_templates(kind="pdf", module="invoice"))


def test_nothing_matching_says_so_and_odd_filters_are_ignored(admin_client):
    page = " ".join(admin_client.get("/templates?q=zz%25no_such").text.split())
    assert "No template matches" in page and "Show all templates" in page
    odd = admin_client.get("/templates?kind=%00&module=pony&language=" + "x" * 5000)
    assert odd.status_code == 200
    assert rows(odd.text) == len(templating.list_templates())
    percent = admin_client.get("/templates?q=%25").text  # a LIKE wildcard is a plain character
    assert "No template matches" in percent


def test_duplicate_copies_the_current_version_and_settings(admin_client):
    original = named("Welcome")
    original.attach_pdf_ids = [named("Invoice (PDF)").id]
    db.session.commit()
    answer = admin_client.post(
        f"/templates/{original.id}/duplicate",
        data={"csrf_token": csrf_token(admin_client, "/templates")},
    )
    assert answer.status_code == 302
    copy = named("Copy of Welcome")
    assert answer.headers["Location"].endswith(f"/templates/{copy.id}")
    assert copy.current.number == 1 and copy.current.source == original.current.source
    assert copy.current.subject == original.current.subject
    assert (copy.kind, copy.module, copy.language, copy.purpose) == (
        original.kind,
        original.module,
        original.language,
        original.purpose,
    )
    assert copy.attach_pdf_ids == original.attach_pdf_ids and copy.variants == []
    assert len(original.versions) >= 1 and copy.id != original.id


def test_duplicate_needs_the_form_token_and_a_real_template(app, demo):
    marketer = log_in(app.test_client(), "marketer@example.com")
    welcome = named("Welcome")
    assert marketer.post(f"/templates/{welcome.id}/duplicate").status_code == 400
    token = csrf_token(marketer, "/templates")
    assert (
        marketer.post("/templates/99999/duplicate", data={"csrf_token": token}).status_code == 404
    )
    assert named("Copy of Welcome") is None
    done = marketer.post(f"/templates/{welcome.id}/duplicate", data={"csrf_token": token})
    assert done.status_code == 302 and named("Copy of Welcome") is not None

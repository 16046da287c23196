"""New from starter: the gallery on "New template" and the templates made from it."""

from markupsafe import escape
from support import csrf_token, log_in

from designer import templating
from designer.extensions import db
from designer.templating import Template
from designer.templating.starters import get_starter, starters


def newest():
    return db.session.scalars(db.select(Template).order_by(Template.id.desc())).first()


def test_the_gallery_shows_every_starter_with_its_picture_and_description(admin_client):
    page = admin_client.get("/templates/new").text
    slugs = [s["slug"] for s in starters()]
    assert {"newsletter", "plain-announcement", "invoice-reminder", "blank-email"} <= set(slugs)
    assert {"quote", "invoice", "blank-pdf"} <= {s["slug"] for s in starters("pdf")}
    for starter in starters():
        assert f'value="{starter["slug"]}"' in page
        assert str(escape(starter["description"])) in page
        picture = admin_client.get(f"/templates/starters/{starter['slug']}.png")
        assert picture.status_code == 200 and picture.mimetype == "image/png"
        assert picture.data.startswith(b"\x89PNG")
    assert page.index("E-mail starters") < page.index("PDF starters") < page.index("write your own")


def test_choosing_a_starter_creates_the_template_from_it(admin_client):
    token = csrf_token(admin_client, "/templates/new")
    answer = admin_client.post(
        "/templates/new/starter", data={"csrf_token": token, "starter": "invoice-reminder"}
    )
    template = newest()
    assert answer.status_code == 302 and answer.headers["Location"].endswith(
        f"/templates/{template.id}"
    )
    entry = get_starter("invoice-reminder")
    assert (template.name, template.kind, template.module, template.purpose) == (
        "Invoice reminder",
        "email",
        "invoice",
        "transactional",
    )
    assert template.current.subject == entry["subject"] and "<mjml>" in template.current.source
    named = admin_client.post(
        "/templates/new/starter",
        data={"csrf_token": token, "starter": "blank-pdf", "starter_name": "  Offer   letter "},
    )
    assert named.status_code == 302
    pdf = newest()
    assert (pdf.name, pdf.kind, pdf.source_type) == ("Offer letter", "pdf", "html")
    assert "@page" in pdf.current.source
    assert admin_client.get(f"/templates/{pdf.id}").status_code == 200


def test_an_unknown_or_odd_starter_creates_nothing(admin_client):
    token = csrf_token(admin_client, "/templates/new")
    before = len(templating.list_templates())
    for value in ("", "nope", "../manifest", "x" * 10000, "blank-email\x00"):
        answer = admin_client.post(
            "/templates/new/starter", data={"csrf_token": token, "starter": value}
        )
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/templates/new")
    assert len(templating.list_templates()) == before
    long_name = admin_client.post(
        "/templates/new/starter",
        data={"csrf_token": token, "starter": "blank-email", "starter_name": "n" * 5000},
    )
    assert long_name.status_code == 302 and len(newest().name) == 200
    assert admin_client.get("/templates/starters/nope.png").status_code == 404
    assert admin_client.get("/templates/starters/..%2Fmanifest.png").status_code == 404


def test_starters_need_a_login_and_the_form_token(app, demo):
    anonymous = app.test_client()
    assert anonymous.get("/templates/starters/newsletter.png").status_code == 302
    refused = anonymous.post(
        "/templates/new/starter", data={"csrf_token": csrf_token(anonymous), "starter": "quote"}
    )
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    marketer = log_in(app.test_client(), "marketer@example.com")
    before = len(templating.list_templates())
    assert marketer.post("/templates/new/starter", data={"starter": "quote"}).status_code == 400
    assert len(templating.list_templates()) == before
    token = csrf_token(marketer, "/templates/new")
    made = marketer.post("/templates/new/starter", data={"csrf_token": token, "starter": "quote"})
    assert made.status_code == 302 and newest().name == "Quotation (PDF)"

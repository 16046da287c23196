"""Template bundles: export and import between installations, all or nothing, safe unzipping."""

import io
import json
import zipfile

import pytest
from PIL import Image

from designer.assets import Asset, get_asset, store_asset
from designer.extensions import db
from designer.templating import Template, TemplateInvalid, create_template
from designer.templating.bundle import MAX_ENTRIES, export_bundle, import_bundle


def png(colour, size=8):
    """A real PNG image (uploads are read, not trusted by their type)."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


LOGO = png("navy", 40)
PROMO_HTML = """<html><head><title>Spring offer</title></head><body>
<img src="{url}" alt="logo" width="120">
<p style="background: url({url}) no-repeat">Hello {{{{ contact.first_name }}}},
see <a href="https://example.com/offer">our offer</a>.</p>
<img src="/assets/999/gone.png" alt="a stale reference stays as it is">
</body></html>
"""


def count(model):
    return db.session.scalar(db.select(db.func.count(model.id)))


def delete_templates(*templates):
    for template in templates:
        for version in list(template.versions):
            db.session.delete(version)
        db.session.delete(template)
    db.session.commit()


def zip_of(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def manifest(*templates):
    return json.dumps({"format": "designer-templates", "version": 1, "templates": list(templates)})


def entry(name, source="templates/1/source.html", **extra):
    return {
        "name": name,
        "kind": "email",
        "source_type": "html",
        "module": "contact",
        "language": "en",
        "subject": "Hi {{ contact.first_name }}",
        "source": source,
        "assets": [],
        **extra,
    }


@pytest.fixture
def promo(people):
    logo = store_asset("logo.png", "image/png", LOGO)
    template = create_template(
        "Spring offer",
        PROMO_HTML.format(url=logo.url_path),
        source_type="html",
        subject="Spring for {{ contact.first_name }}",
        user=people.admin,
    )
    template.description = "Seasonal campaign"
    template.tracking = False
    template.current.preheader = "Only this month"
    template.current.text_override = "Hello {{ contact.first_name }}, see our offer."
    db.session.commit()
    return template, logo


def test_export_then_import_restores_sources_assets_and_settings(people, welcome, promo):
    promo_template, logo = promo
    old_logo_id, old_url = logo.id, logo.url_path
    originals = {t.name: (t.current.source, t.current.subject) for t in (welcome, promo_template)}

    data = export_bundle([welcome, promo_template])

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        listed = json.loads(archive.read("manifest.json"))
        names = set(archive.namelist())
    assert listed["format"] == "designer-templates" and listed["version"] == 1
    first, second = listed["templates"]
    assert first["source"] == "templates/1/source.mjml" and first["assets"] == []
    assert second["source"] == "templates/2/source.html"
    assert second["assets"] == [
        {
            "id": old_logo_id,
            "filename": "logo.png",
            "content_type": "image/png",
            "path": f"assets/{logo.sha256}/logo.png",
        }
    ]
    assert second["tracking"] is False and second["preheader"] == "Only this month"
    assert names == {
        "manifest.json",
        "templates/1/source.mjml",
        "templates/2/source.html",
        f"assets/{logo.sha256}/logo.png",
    }

    delete_templates(welcome, promo_template)
    db.session.delete(logo)
    db.session.commit()
    store_asset("other.png", "image/png", png("red"))  # takes a fresh id first
    assert count(Template) == 0

    imported = import_bundle(data, user=people.admin)

    assert [t.name for t in imported] == ["Welcome", "Spring offer"]
    new_welcome, new_promo = imported
    assert new_welcome.current.source == originals["Welcome"][0]
    assert new_welcome.current.subject == originals["Welcome"][1]
    assert new_welcome.source_type == "mjml" and new_welcome.module == "contact"
    assert new_welcome.current.created_by_id == people.admin.id

    new_logo = db.session.scalar(db.select(Asset).where(Asset.filename == "logo.png"))
    assert new_logo.id != old_logo_id
    assert new_logo.data == LOGO and new_logo.content_type == "image/png"
    source = new_promo.current.source
    assert source == originals["Spring offer"][0].replace(old_url, new_logo.url_path)
    assert source.count(new_logo.url_path) == 2 and old_url not in source
    assert "/assets/999/gone.png" in source
    assert new_logo.url_path in new_promo.current.compiled_html
    assert new_promo.description == "Seasonal campaign" and new_promo.tracking is False
    assert new_promo.current.preheader == "Only this month"
    assert new_promo.current.text_override == "Hello {{ contact.first_name }}, see our offer.\n"


def test_importing_twice_stores_each_asset_once(people, promo):
    template, logo = promo
    data = export_bundle([template])
    first = import_bundle(data)
    second = import_bundle(data)
    assert count(Template) == 3 and count(Asset) == 1
    assert first[0].current.source == second[0].current.source == template.current.source
    assert get_asset(logo.id).data == LOGO


@pytest.mark.parametrize(
    "name",
    [
        "../evil.html",
        "templates/../../evil.html",
        "/etc/cron.d/x",
        "C:/Windows/evil.html",
        "..\\evil.html",
    ],
)
def test_zip_slip_entries_are_refused(app, name):
    data = zip_of({"manifest.json": manifest(entry("Evil", source=name)), name: "<p>evil</p>"})
    with pytest.raises(TemplateInvalid, match=r"absolute path or '\.\.'"):
        import_bundle(data)
    assert count(Template) == 0


def test_too_many_entries_are_refused(app):
    files = {f"templates/{n}/source.html": "<p>x</p>" for n in range(MAX_ENTRIES)}
    data = zip_of({"manifest.json": manifest(entry("One")), **files})
    with pytest.raises(TemplateInvalid, match="201 entries"):
        import_bundle(data)
    assert count(Template) == 0


def test_a_bundle_unpacking_to_more_than_50_mb_is_refused(app):
    data = zip_of(
        {
            "manifest.json": manifest(entry("Big")),
            "templates/1/source.html": b"<p>" + b" " * (51 * 1024 * 1024) + b"</p>",
        }
    )
    assert len(data) < 1024 * 1024  # small on the wire, large unpacked
    with pytest.raises(TemplateInvalid, match="more than 50 MB"):
        import_bundle(data)
    assert count(Template) == 0


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"templates/1/source.html": "<p>x</p>"}, "no manifest.json"),
        ({"manifest.json": "{not json"}, "not valid JSON"),
        ({"manifest.json": json.dumps({"format": "other", "version": 1})}, "does not describe"),
        (
            {
                "manifest.json": json.dumps(
                    {"format": "designer-templates", "version": 2, "templates": []}
                )
            },
            "version 2 is not supported",
        ),
        ({"manifest.json": manifest(entry("Missing"))}, "no entry 'templates/1/source.html'"),
        (
            {
                "manifest.json": manifest(entry("Odd", module="spaceship")),
                "templates/1/source.html": "<p>x</p>",
            },
            "module 'spaceship'",
        ),
    ],
)
def test_invalid_manifests_are_refused_clearly(app, entries, message):
    with pytest.raises(TemplateInvalid, match=message):
        import_bundle(zip_of(entries))
    assert count(Template) == 0


def test_not_a_zip_is_refused(app):
    with pytest.raises(TemplateInvalid, match="not a readable zip"):
        import_bundle(b"these are not the bytes of a zip file")


def test_a_broken_template_means_nothing_is_created(people, promo):
    template, logo = promo
    good = json.loads(zipfile.ZipFile(io.BytesIO(export_bundle([template]))).read("manifest.json"))[
        "templates"
    ][0]
    db.session.delete(logo)
    db.session.commit()
    templates_before, assets_before = count(Template), count(Asset)
    broken = entry("Broken", source="templates/2/source.html")
    data = zip_of(
        {
            "manifest.json": manifest(good, broken),
            "templates/1/source.html": template.current.source,
            f"assets/{logo.sha256}/logo.png": LOGO,
            "templates/2/source.html": "<p>Hello\n{{ contact.first_name </p>",
        }
    )
    with pytest.raises(TemplateInvalid, match=r"template 2 \(Broken\)") as caught:
        import_bundle(data, user=people.admin)
    assert caught.value.line == 2
    assert count(Template) == templates_before and count(Asset) == assets_before


def test_assets_of_refused_types_or_damaged_content_are_refused(app):
    def bundle(content_type, content, digest="0" * 64):
        asset = {
            "id": 1,
            "filename": "x.bin",
            "content_type": content_type,
            "path": f"assets/{digest}/x.bin",
        }
        return zip_of(
            {
                "manifest.json": manifest(entry("A", assets=[asset])),
                "templates/1/source.html": "<img src='/assets/1/x.bin'>",
                f"assets/{digest}/x.bin": content,
            }
        )

    with pytest.raises(TemplateInvalid, match="application/x-msdownload are not accepted"):
        import_bundle(bundle("application/x-msdownload", b"MZ"))
    with pytest.raises(TemplateInvalid, match="does not match its checksum"):
        import_bundle(bundle("image/png", b"\x89PNG"))
    assert count(Template) == 0 and count(Asset) == 0

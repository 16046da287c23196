"""The library's thumbnails: each saved version drawn once for the sample, as a PNG."""

import io
from pathlib import Path

from PIL import Image
from support import csrf_token, log_in

from designer import templating
from designer.extensions import db
from designer.templating import Template
from designer.templating.template_thumbnails import WIDTH, placeholder, version_thumbnail


def named(name):
    return db.session.scalar(db.select(Template).where(Template.name == name))


def picture(data):
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_the_library_is_a_gallery_with_a_picture_of_each_template(admin_client, app):
    page = admin_client.get("/templates").text
    welcome = named("Welcome")
    src = f"/templates/{welcome.id}/versions/{welcome.current.number}/thumbnail.png"
    assert f'src="{src}"' in page and 'loading="lazy"' in page
    assert page.count('class="gallery-thumb"') == len(templating.list_templates())
    answer = admin_client.get(src)
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert "max-age" in answer.headers["Cache-Control"]
    image = picture(answer.data)
    assert image.width == WIDTH and image.height > 300
    assert answer.data != placeholder()
    colours = image.convert("RGB").getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 20  # drawn text and colours, not a blank page
    cache = Path(app.config["INSTANCE_PATH"]) / "cache" / "thumbnails"
    assert (cache / f"{welcome.current.id}-{WIDTH}.png").read_bytes() == answer.data


def test_a_version_is_drawn_once_and_then_read_from_the_cache(app, demo, tmp_path):
    version = named("Invoice (PDF)").current
    first = version_thumbnail(version, tmp_path)
    stored = tmp_path / f"{version.id}-{WIDTH}.png"
    assert stored.read_bytes() == first and picture(first).width == WIDTH
    stored.write_bytes(b"kept")
    assert version_thumbnail(version, tmp_path) == b"kept"


def test_a_template_that_cannot_be_merged_gets_the_placeholder(app, demo, tmp_path):
    broken = templating.create_template(
        "Broken",
        "<mjml><mj-body><mj-section><mj-column><mj-text>{{ contact.nope.deeper }}"
        "</mj-text></mj-column></mj-section></mj-body></mjml>",
    )
    assert version_thumbnail(broken.current, tmp_path) == placeholder()


def test_a_template_cannot_fetch_anything_for_its_picture(app, demo, tmp_path):
    fetching = templating.create_template(
        "Fetching",
        '<html><body style="background:#123456"><img src="file:///etc/passwd">'
        '<img src="http://127.0.0.1:9/pixel.gif"><p>Hi</p></body></html>',
        source_type="html",
    )
    image = picture(version_thumbnail(fetching.current, tmp_path)).convert("RGB")
    assert image.getpixel((WIDTH // 2, 5)) == (0x12, 0x34, 0x56)


def test_thumbnails_need_a_login_and_a_real_version(app, demo):
    welcome = named("Welcome")
    path = f"/templates/{welcome.id}/versions/{welcome.current.number}/thumbnail.png"
    anonymous = app.test_client()
    csrf_token(anonymous)
    assert anonymous.get(path).status_code == 302
    marketer = log_in(app.test_client(), "marketer@example.com")
    assert marketer.get(path).status_code == 200
    assert marketer.get(f"/templates/{welcome.id}/versions/999/thumbnail.png").status_code == 404
    assert marketer.get("/templates/99999/versions/1/thumbnail.png").status_code == 404
    assert marketer.get(f"/templates/{welcome.id}/versions/-1/thumbnail.png").status_code == 404

"""The visual builder's page and the API it calls: open, blocks, save as a new version, images."""

import io
import json
import re

from designer.extensions import db
from designer.templating import create_template

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
    b"\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def builder_config(html):
    found = re.search(
        r'<script type="application/json" id="builder-config">(.*?)</script>', html, re.DOTALL
    )
    assert found, "no builder configuration on the page"
    return json.loads(found.group(1))


def test_the_code_editor_links_to_the_visual_builder_and_back(ada, welcome):
    editor = ada.get(f"/templates/{welcome.id}").get_data(as_text=True)
    assert f'href="/templates/{welcome.id}/visual"' in editor
    page = ada.get(f"/templates/{welcome.id}/visual")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/templates/{welcome.id}"' in html
    assert 'src="/static/dist/builder.bundle.js"' in html
    assert "<script>" not in html  # CSP script-src 'self': no inline scripts
    config = builder_config(html)
    assert config["version"] == 1
    assert config["fields_url"] == "/api/v1/fields/contact"
    assert config["saved_blocks_url"] == "/api/v1/blocks"
    assert config["images_url"] == "/api/v1/images"
    assert config["save_url"] == f"/api/v1/templates/{welcome.id}/versions"
    assert config["preview_url"] == f"/api/v1/templates/{welcome.id}/preview"
    assert 'id="builder-save-block"' in html and 'id="builder-block-name"' in html
    blocks = config["document"]["blocks"]
    assert "".join(b["source"] for b in blocks) == welcome.current.source
    assert [b["kind"] for b in blocks if b["kind"] != "space"] == ["head", "section", "tail"]


def test_templates_the_builder_cannot_open_go_back_to_the_code_editor(ada, people):
    html = create_template("Plain", "<p>Hi {{ contact.first_name }}</p>", source_type="html")
    no_body = create_template("Headless", "<mjml><mj-head><mj-title>x</mj-title></mj-head></mjml>")
    for template, reason in [(html, "only MJML e-mail templates"), (no_body, "no &lt;mj-body&gt;")]:
        response = ada.get(f"/templates/{template.id}/visual", follow_redirects=True)
        assert response.request.path == f"/templates/{template.id}"
        assert reason in response.get_data(as_text=True)
        blocks = ada.get(f"/api/v1/templates/{template.id}/blocks")
        assert blocks.status_code == 422 and blocks.json["error"]["code"] == "blocks_unavailable"
    assert "/visual" not in ada.get(f"/templates/{html.id}").get_data(as_text=True)


def test_blocks_json_lists_the_current_version(ada, welcome):
    body = ada.get(f"/api/v1/templates/{welcome.id}/blocks").json
    assert body["version"] == 1
    assert "".join(b["source"] for b in body["blocks"]) == welcome.current.source
    assert ada.get("/api/v1/templates/999/blocks").status_code == 404


def test_saving_from_the_builder_adds_a_version_with_exactly_that_source(ada, ada_csrf, welcome):
    source = welcome.current.source.replace("Start</mj-button>", "Begin</mj-button>")
    response = ada.post(
        f"/api/v1/templates/{welcome.id}/versions",
        json={"source": source, "base_version": 1},
        headers=ada_csrf,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["number"] == 2
    db.session.refresh(welcome)
    assert welcome.current.number == 2 and welcome.current.source == source
    assert welcome.current.subject == welcome.versions[0].subject  # kept
    assert "Begin" in welcome.current.compiled_html


def test_a_save_on_an_older_version_is_refused_not_merged(ada, ada_csrf, welcome):
    response = ada.post(
        f"/api/v1/templates/{welcome.id}/versions",
        json={"source": welcome.current.source, "base_version": 2},
        headers=ada_csrf,
    )
    assert response.status_code == 409
    assert response.json["error"]["code"] == "version_conflict"
    assert response.json["error"]["details"] == {"version": 1}
    db.session.refresh(welcome)
    assert len(welcome.versions) == 1


def test_invalid_mjml_from_the_builder_is_refused_with_its_line(ada, ada_csrf, welcome):
    broken = welcome.current.source.replace("{{ sender.name }}", "{{ sender.name ", 1)
    response = ada.post(
        f"/api/v1/templates/{welcome.id}/versions",
        json={"source": broken, "base_version": 1},
        headers=ada_csrf,
    )
    assert response.status_code == 422
    assert response.json["error"]["code"] == "template_invalid"
    assert response.json["error"]["details"]["line"] == 8
    db.session.refresh(welcome)
    assert len(welcome.versions) == 1


def test_bad_save_requests_are_refused(ada, ada_csrf, welcome):
    url = f"/api/v1/templates/{welcome.id}/versions"
    assert ada.post(url, data="not json", headers=ada_csrf).status_code == 422
    assert ada.post(url, json=["x"], headers=ada_csrf).status_code == 422
    wrong = ada.post(url, json={"source": 5, "base_version": 1}, headers=ada_csrf)
    assert wrong.status_code == 422 and list(wrong.json["error"]["details"]["fields"]) == ["source"]
    no_csrf = ada.post(url, json={"source": welcome.current.source, "base_version": 1})
    assert no_csrf.status_code == 400 and no_csrf.json["error"]["code"] == "csrf_failed"
    db.session.refresh(welcome)
    assert len(welcome.versions) == 1


def test_the_image_picker_lists_uploads_and_refuses_what_is_not_an_image(ada, ada_csrf):
    url = "/api/v1/images"
    assert ada.get(url).json == {"images": [], "page": 1, "per_page": 50, "total": 0}
    upload = ada.post(
        url,
        data={"files": (io.BytesIO(PNG), "logo.png", "image/png")},
        headers=ada_csrf,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201
    (image,) = upload.json["images"]
    assert re.fullmatch(r"http://designer\.test/assets/\d+/logo\.png", image["src"])
    assert image["name"] == "logo.png" and image["size"] == len(PNG)
    assert ada.get(url).json["images"] == [image]
    assert ada.get(image["src"].removeprefix("http://designer.test")).data == PNG

    font = ada.post(
        url,
        data={"files": (io.BytesIO(b"OTTO"), "a.otf", "font/otf")},
        headers=ada_csrf,
        content_type="multipart/form-data",
    )
    assert font.status_code == 422 and "only images" in font.json["error"]["message"]
    fake = ada.post(
        url,
        data={"files": (io.BytesIO(b"x"), "x.png", "image/x-icon")},
        headers=ada_csrf,
        content_type="multipart/form-data",
    )
    assert fake.status_code == 422 and fake.json["error"]["code"] == "asset_rejected"
    nothing = ada.post(url, data={}, headers=ada_csrf, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "files" in nothing.json["error"]["details"]["fields"]
    forged = ada.post(
        url,
        data={"files": (io.BytesIO(PNG), "logo.png", "image/png")},
        content_type="multipart/form-data",
    )
    assert forged.status_code == 400 and forged.json["error"]["code"] == "csrf_failed"
    assert ada.get(url).json["total"] == 1


def test_builder_pages_need_a_login(client, welcome):
    for path in (
        f"/templates/{welcome.id}/visual",
        f"/api/v1/templates/{welcome.id}/blocks",
        "/api/v1/images",
    ):
        response = client.get(path)
        assert response.status_code in (302, 401)

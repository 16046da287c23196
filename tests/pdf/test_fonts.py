"""Uploaded font files: a stored font asset is embedded and used by the PDF."""

import subprocess
from pathlib import Path

import pytest

from designer.pdf import render_pdf

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerifCondensed-BoldItalic.ttf")
HTML = """<html><head><style>
@font-face { font-family: "House"; src: url(/assets/7/house.ttf); }
p { font-family: "House"; font-size: 20pt; }
</style></head><body><p>Factuur</p></body></html>"""


def fonts_in(pdf):
    result = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=False)
    if result.returncode != 0:  # older poppler reads no stdin: use a file
        path = Path("/tmp") / "designer-fonts-test.pdf"
        path.write_bytes(pdf)
        result = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True)
    return result.stdout.decode()


@pytest.mark.skipif(not FONT.exists(), reason="fonts-dejavu-core is not installed")
def test_an_uploaded_font_is_embedded():
    assets = {7: (FONT.read_bytes(), "font/ttf")}
    refused = []
    pdf = render_pdf(
        HTML, lookup=assets.get, public_url="https://designer.example", refused=refused
    )
    assert refused == []
    assert "+House-Bold-Italic-Semi-Condensed" in fonts_in(pdf)  # named by its family


def test_without_the_asset_the_font_is_not_loaded():
    refused = []
    pdf = render_pdf(HTML, lookup={}.get, public_url="https://designer.example", refused=refused)
    assert any("/assets/7/house.ttf" in url for url in refused)
    assert "House" not in fonts_in(pdf)


@pytest.mark.skipif(not FONT.exists(), reason="fonts-dejavu-core is not installed")
def test_a_font_uploaded_on_the_files_page_is_used_by_a_pdf(app, client, people):
    import io

    from support import csrf_token, log_in

    from designer.pdf import stored_asset

    user = log_in(client, "ada@example.com", "secret")
    token = csrf_token(user, "/files")
    response = user.post(
        "/files",
        data={
            "file": (io.BytesIO(FONT.read_bytes()), "house.ttf", "application/octet-stream"),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = user.get("/files").text
    path = page.split("<code>/assets/", 1)[1].split("</code>", 1)[0]
    html = HTML.replace("/assets/7/house.ttf", f"/assets/{path}")
    pdf = render_pdf(html, lookup=stored_asset, public_url=app.config["PUBLIC_URL"])
    assert "+House-Bold-Italic-Semi-Condensed" in fonts_in(pdf)
    refused = user.post(
        "/files",
        data={
            "file": (io.BytesIO(b"MZ\x90\x00"), "tool.exe", "application/x-msdownload"),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400 and "not accepted" in refused.text

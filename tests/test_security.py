"""Response headers and cookies: https deployments get Secure cookies and HSTS; http stays as is."""

from designer.security import HSTS


def test_an_https_public_url_makes_cookies_secure_and_sends_hsts(app_with):
    app = app_with(PUBLIC_URL="https://designer.example.com")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    client = app.test_client()
    page = client.get("/login", base_url="https://designer.example.com")
    assert page.headers["Strict-Transport-Security"] == HSTS == "max-age=31536000"
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    missing = client.get("/api/nothing-here", base_url="https://designer.example.com")
    assert missing.status_code == 404 and "Strict-Transport-Security" in missing.headers


def test_an_http_public_url_changes_nothing(client):
    page = client.get("/login")
    assert "Strict-Transport-Security" not in page.headers
    assert "Secure" not in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]

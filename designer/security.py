"""Response headers that keep pages safe: a Content-Security-Policy and friends.

Pages load scripts only from the app itself; previews of user templates
(in sandboxed iframes) may show remote images and styles, as mail clients
would, but never run scripts. Responses that set their own policy (template
previews, assets) keep it. With an https ``PUBLIC_URL`` every page also
tells browsers to come back over https only (HSTS). A page whose form leads
to another site (signing in at an OAuth2 provider) names that site's origin
in ``g.form_action_origins``: forms may go there too.
"""

from flask import g

PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline' https: http:",
        "img-src * data:",
        "font-src 'self' data: https: http:",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)

#: A year: the usual HSTS lifetime. Subdomains are left alone (they may be other sites).
HSTS = "max-age=31536000"


def _page_policy():
    origins = sorted(set(g.get("form_action_origins", ())))
    if not origins:
        return PAGE_POLICY
    return PAGE_POLICY.replace("form-action 'self'", " ".join(["form-action 'self'", *origins]))


def plain_headers(app):
    """The security headers of every response (pages add their policy to these)."""
    headers = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin")]
    if app.config["PUBLIC_URL"].startswith("https://"):
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def init_app(app):

    @app.after_request
    def secure_headers(response):
        for name, value in plain_headers(app):
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", _page_policy())
            response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response
